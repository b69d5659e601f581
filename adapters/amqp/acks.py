"""Coalesced acks: one ``basic.ack`` with ``multiple`` for a run of settled deliveries.

Why: a micro-batch's results are confirmed together (the broker confirms with ``multiple``), so their
requests become ackable together; one frame instead of one per request saves a socket write each, which is
a large share of the I/O thread's time. Semantics do not change: a request is still acked only after its
result is confirmed, and nothing waits — every ackable delivery is acked at the next :meth:`flush`, the
contiguous run from the oldest outstanding delivery with one ``multiple`` ack, any others one by one.
I/O thread only; one instance per channel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["AckCoalescer"]


class AckCoalescer:
    """Tracks a channel's outstanding delivery tags (ascending) and acks ready ones in as few frames as
    possible. ``ack(tag, multiple)`` sends the frame; ``on_acked(key)`` runs once per request acked."""

    def __init__(self, ack: Callable[[int, bool], None], on_acked: Callable[[str], None]) -> None:
        self._ack = ack
        self._on_acked = on_acked
        self._outstanding: deque[int] = deque()  # delivered and not yet settled, in delivery order
        self._done: set[int] = set()  # settled some other way (nack, reject): skip them
        self._ready: dict[int, str] = {}  # ackable: tag -> request key

    def delivered(self, tag: int) -> None:
        self._outstanding.append(tag)

    def settled_otherwise(self, tag: int) -> None:
        """The delivery was nacked or rejected: it no longer counts as outstanding."""
        self._done.add(tag)

    def ready(self, tag: int, key: str) -> None:
        """The delivery's result is safe: ack it at the next flush."""
        self._ready[tag] = key

    def flush(self) -> None:
        if not self._ready:
            return
        last = 0
        while self._outstanding and (
            self._outstanding[0] in self._ready or self._outstanding[0] in self._done
        ):
            tag = self._outstanding.popleft()
            self._done.discard(tag)
            if tag in self._ready:
                last = tag
        if last:
            self._ack(last, True)
            for tag in [t for t in self._ready if t <= last]:
                self._on_acked(self._ready.pop(tag))
        for tag, key in list(self._ready.items()):  # ready, but an older delivery is still in progress
            self._ack(tag, False)
            self._on_acked(key)
            self._outstanding.remove(tag)
        self._ready.clear()
