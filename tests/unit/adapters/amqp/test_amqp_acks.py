"""AckCoalescer: as few ack frames as possible, never an ack for a delivery that is not ready."""

from __future__ import annotations

from adapters.amqp.acks import AckCoalescer


def _coalescer() -> tuple[AckCoalescer, list[tuple[int, bool]], list[str]]:
    frames: list[tuple[int, bool]] = []
    acked: list[str] = []
    return AckCoalescer(lambda tag, multiple: frames.append((tag, multiple)), acked.append), frames, acked


def test_a_run_of_ready_deliveries_is_acked_with_one_multiple_ack() -> None:
    acks, frames, acked = _coalescer()
    for tag in (1, 2, 3):
        acks.delivered(tag)
        acks.ready(tag, f"k{tag}")
    acks.flush()
    assert frames == [(3, True)] and sorted(acked) == ["k1", "k2", "k3"]


def test_a_delivery_still_in_progress_is_never_covered_and_later_ones_are_acked_alone() -> None:
    acks, frames, acked = _coalescer()
    for tag in (1, 2, 3, 4):
        acks.delivered(tag)
    acks.ready(1, "k1")
    acks.ready(3, "k3")
    acks.ready(4, "k4")
    acks.flush()
    assert frames == [(1, True), (3, False), (4, False)]  # 2 is still being scored
    acks.ready(2, "k2")
    acks.flush()
    assert frames[-1] == (2, True) and sorted(acked) == ["k1", "k2", "k3", "k4"]


def test_nacked_deliveries_do_not_block_a_multiple_ack() -> None:
    acks, frames, _ = _coalescer()
    for tag in (1, 2, 3):
        acks.delivered(tag)
    acks.settled_otherwise(1)  # requeued with a nack
    acks.ready(2, "k2")
    acks.ready(3, "k3")
    acks.flush()
    assert frames == [(3, True)]


def test_nothing_to_ack_sends_nothing() -> None:
    acks, frames, _ = _coalescer()
    acks.delivered(1)
    acks.flush()
    assert frames == []
