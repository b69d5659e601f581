"""MicroBatcher: batches of at most max_items, handed out oldest first, never lost on close."""

from __future__ import annotations

import threading

import pytest

from adapters.amqp.batching import MicroBatcher


def test_a_batch_holds_at_most_max_items_and_the_rest_comes_next_in_order() -> None:
    batcher: MicroBatcher[int] = MicroBatcher(max_items=3, max_wait_s=10.0)
    for i in range(5):
        batcher.put(i)
    assert batcher.next_batch() == [0, 1, 2]
    batcher.close()
    assert batcher.next_batch() == [3, 4]


def test_with_no_wait_a_lone_item_is_handed_out_at_once() -> None:
    batcher: MicroBatcher[str] = MicroBatcher(max_items=100, max_wait_s=0.0)
    batcher.put("only")
    assert batcher.next_batch() == ["only"]


def test_the_wait_is_counted_from_the_first_items_arrival() -> None:
    now = [100.0]
    batcher: MicroBatcher[int] = MicroBatcher(max_items=10, max_wait_s=0.5, clock=lambda: now[0])
    batcher.put(1)
    now[0] = 100.6  # older than max_wait already: no waiting at all
    assert batcher.next_batch() == [1]


def test_a_full_batch_wakes_a_waiting_worker() -> None:
    batcher: MicroBatcher[int] = MicroBatcher(max_items=2, max_wait_s=3600.0)
    got: list[list[int]] = []
    worker = threading.Thread(target=lambda: got.append(batcher.next_batch()))
    worker.start()
    batcher.put(1)
    batcher.put(2)
    worker.join(timeout=30)
    assert got == [[1, 2]]


def test_an_idle_timeout_returns_an_empty_batch_and_close_ends_with_empty_batches() -> None:
    batcher: MicroBatcher[int] = MicroBatcher(max_items=2, max_wait_s=0.0)
    assert batcher.next_batch(idle_timeout_s=0.01) == []
    batcher.close()
    assert batcher.closed and batcher.next_batch() == []


def test_drain_removes_everything_queued() -> None:
    batcher: MicroBatcher[int] = MicroBatcher(max_items=2, max_wait_s=0.0)
    for i in range(3):
        batcher.put(i)
    assert batcher.drain() == [0, 1, 2] and len(batcher) == 0


@pytest.mark.parametrize(("items", "wait"), [(0, 1.0), (1, -1.0)])
def test_nonsense_limits_are_refused(items: int, wait: float) -> None:
    with pytest.raises(ValueError, match="max_items"):
        MicroBatcher(items, wait)
