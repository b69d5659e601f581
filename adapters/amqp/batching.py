"""Micro-batching across messages: many small requests, one inference call.

The consumer's I/O thread ``put``s deliveries; the worker thread calls :meth:`MicroBatcher.next_batch`, which
waits for the first item and then keeps collecting until ``max_items`` are there or ``max_wait_s`` has passed
since that first item arrived. Prefetch bounds how many items can ever be queued, so the queue needs no
limit of its own. ``max_items=1`` turns batching off.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

T = TypeVar("T")


class MicroBatcher(Generic[T]):
    """A thread-safe queue handing out batches of at most ``max_items``, waiting at most ``max_wait_s``."""

    def __init__(
        self, max_items: int, max_wait_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_items < 1 or max_wait_s < 0:
            raise ValueError(f"max_items must be >= 1 and max_wait_s >= 0, got {max_items}, {max_wait_s}")
        self.max_items = max_items
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._items: deque[tuple[float, T]] = deque()
        self._ready = threading.Condition()
        self._closed = False

    def put(self, item: T) -> None:
        with self._ready:
            self._items.append((self._clock(), item))
            if len(self._items) == 1 or len(self._items) >= self.max_items:
                self._ready.notify()

    def close(self) -> None:
        """Wake the worker; ``next_batch`` returns what is left, then empty batches."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)

    def next_batch(self, idle_timeout_s: float | None = None) -> list[T]:
        """The next batch, oldest first; ``[]`` when closed and empty, or after ``idle_timeout_s`` with
        nothing queued (so the caller can check for shutdown)."""
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(idle_timeout_s)
            if not self._items:
                return []
            deadline = self._items[0][0] + self.max_wait_s
            while len(self._items) < self.max_items and not self._closed:
                left = deadline - self._clock()
                if left <= 0:
                    break
                self._ready.wait(left)
            count = min(self.max_items, len(self._items))
            return [self._items.popleft()[1] for _ in range(count)]

    def drain(self) -> list[T]:
        """Remove and return everything queued (e.g. deliveries of a channel that is gone)."""
        with self._ready:
            items = [item for _, item in self._items]
            self._items.clear()
            return items
