"""Scheduling of model runs: the interface both paths share, and the direct path for unbatched models.

A scheduler runs a model version on a ``WorkerPool`` (onnxruntime releases the GIL) and never blocks the
event loop. It limits how many runs execute at once, bounds its queue (QueueFull), drops requests whose
deadline passes while queued (DeadlineExceeded; they are never run) and drops a cancelled caller's request
if it has not started. All its state is touched only on the event loop that calls ``submit``. The dynamic
batcher is ``gateway.batcher.BatchScheduler``.

``submit`` returns ``(outputs, queue_ns, (input_ns, infer_ns, output_ns))``: the caller's own output arrays
(in the order of the requested names, or graph order), how long it queued, and the compute phases of the run
that served it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol

import numpy as np

from gateway.errors import BridgewayError, DeadlineExceeded, QueueFull, RuntimeFailure
from gateway.workers import WorkerPool

__all__ = [
    "BatchListener",
    "DirectScheduler",
    "Feeds",
    "RunFn",
    "Scheduler",
    "SubmitResult",
    "copy_error",
    "expired",
]

Feeds = dict[str, np.ndarray]
Compute = tuple[int, int, int]
SubmitResult = tuple[list[np.ndarray], int, Compute]
# session.run: (feeds, output names or None for all) -> outputs in that order
RunFn = Callable[[Feeds, list[str] | None], list[np.ndarray]]
# called on the loop after every run: (rows, infer_ns)
BatchListener = Callable[[int, int], None]


class Scheduler(Protocol):
    async def submit(
        self, feeds: Feeds, rows: int, key: Hashable | None, outputs: list[str] | None, deadline: float | None
    ) -> SubmitResult:
        """Run ``feeds`` (``rows`` batch elements; ``key`` None: never merge) and return its outputs."""
        ...

    def close(self, error: BridgewayError) -> None:
        """Fail every request still queued with ``error``; runs in progress finish."""
        ...

    def queued(self) -> int:
        """Requests waiting for a run (not counting those running): the queue depth."""
        ...

    def running(self) -> int:
        """Runs dispatched to the worker threads and not finished yet."""
        ...


def expired(deadline: float) -> DeadlineExceeded:
    late_ms = (time.monotonic() - deadline) * 1000
    return DeadlineExceeded(f"deadline passed while queued ({late_ms:.0f} ms ago); the request was not run")


def copy_error(exc: BaseException) -> BridgewayError:
    """A fresh error per caller (one exception object raised in many tasks would tangle tracebacks)."""
    if isinstance(exc, BridgewayError):
        err: BridgewayError = type(exc)(exc.message)
    else:
        err = RuntimeFailure(f"model run failed: {type(exc).__name__}")
    err.__cause__ = exc
    return err


class DirectScheduler:
    """Unbatched: each request is one run; at most ``concurrency`` run at once, the rest wait in FIFO order.

    The fast path (a free slot and nobody waiting) goes straight to the worker pool: no queue entry, no
    dispatcher task, one future.
    """

    def __init__(
        self, run: RunFn, pool: WorkerPool, concurrency: int, max_queue_size: int, on_run: BatchListener
    ) -> None:
        self._run = run
        self._pool = pool
        self._limit = concurrency
        self._max_queue = max_queue_size
        self._on_run = on_run
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed: BridgewayError | None = None

    def _timed_run(self, feeds: Feeds, outputs: list[str] | None) -> tuple[list[np.ndarray], int]:
        start = time.perf_counter_ns()
        result = self._run(feeds, outputs)
        return result, time.perf_counter_ns() - start

    async def submit(
        self, feeds: Feeds, rows: int, key: Hashable | None, outputs: list[str] | None, deadline: float | None
    ) -> SubmitResult:
        if self._closed is not None:
            raise copy_error(self._closed)
        enqueued = time.monotonic_ns()
        if self._busy < self._limit and not self._waiters:
            self._busy += 1
        else:
            await self._wait_turn(deadline)
        started = time.monotonic_ns()
        if deadline is not None and time.monotonic() >= deadline:
            self._release()
            raise expired(deadline)
        ran: asyncio.Future[tuple[list[np.ndarray], int]] = asyncio.get_running_loop().create_future()
        # The slot is freed in _ran, when the run has really ended, even if this caller was cancelled.
        self._pool.submit(self._timed_run, (feeds, outputs), self._ran, (ran, rows))
        result, infer_ns = await ran
        return result, started - enqueued, (0, infer_ns, 0)

    def _ran(
        self,
        token: tuple[asyncio.Future[tuple[list[np.ndarray], int]], int],
        result: tuple[list[np.ndarray], int] | None,
        error: BaseException | None,
    ) -> None:
        ran, rows = token
        self._release()
        if ran.done():  # the caller was cancelled meanwhile
            return
        if error is not None:
            ran.set_exception(error if isinstance(error, BridgewayError) else copy_error(error))
        else:
            assert result is not None
            self._on_run(rows, result[1])
            ran.set_result(result)

    async def _wait_turn(self, deadline: float | None) -> None:
        if self._max_queue and len(self._waiters) >= self._max_queue:
            raise QueueFull(f"queue is full ({self._max_queue} requests waiting)")
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiters.append(turn)
        timer = None
        if deadline is not None:
            timer = loop.call_later(deadline - time.monotonic(), self._expire, turn, deadline)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._release()  # the slot was handed to us just as we were cancelled: pass it on
            elif turn in self._waiters:
                self._waiters.remove(turn)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self, turn: asyncio.Future[None], deadline: float) -> None:
        if not turn.done():
            self._waiters.remove(turn)
            turn.set_exception(expired(deadline))

    def _release(self) -> None:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # hand the slot over: _busy stays
                return
        self._busy -= 1

    def queued(self) -> int:
        return sum(1 for turn in self._waiters if not turn.done())

    def running(self) -> int:
        return self._busy

    def close(self, error: BridgewayError) -> None:
        self._closed = error
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_exception(copy_error(error))
