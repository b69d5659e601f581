"""Scheduling of model runs: the interface both paths share, and the direct path for unbatched models.

A scheduler runs a model version on a ``WorkerPool`` (onnxruntime releases the GIL) and blocks the event
loop only for runs known to be shorter than a hand-off to a worker thread (``gateway.inline``). It limits how
many runs execute at once, bounds its queue (QueueFull), drops requests whose deadline passes while queued
(DeadlineExceeded; they are never run) and drops a cancelled caller's request if it has not started. All its
state is touched only on the event loop that calls ``submit``. The dynamic batcher is
``gateway.batcher.BatchScheduler``.

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
from gateway.inline import InlineRuns, input_elements
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
# a run's outputs, wall time and the running thread's CPU time (ns)
_Timed = tuple[list[np.ndarray], int, int]


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
    dispatcher task, one future. With ``inline``, runs known to be shorter than a hand-off to a worker
    thread run on the loop instead (``gateway.inline``); they hold a slot like any other run.
    """

    def __init__(
        self,
        run: RunFn,
        pool: WorkerPool,
        concurrency: int,
        max_queue_size: int,
        on_run: BatchListener,
        inline: InlineRuns | None = None,
    ) -> None:
        self._run = run
        self._pool = pool
        self._limit = concurrency
        self._max_queue = max_queue_size
        self._on_run = on_run
        self._inline = inline
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed: BridgewayError | None = None

    def _timed_run(self, feeds: Feeds, outputs: list[str] | None) -> _Timed:
        """Run; returns the outputs, the wall time and the calling thread's CPU time (ns).

        The CPU time is what the inline decision learns from: unlike the wall time it does not grow while a
        worker waits for the GIL behind a busy event loop.
        """
        start, cpu = time.perf_counter_ns(), time.thread_time_ns()
        result = self._run(feeds, outputs)
        return result, time.perf_counter_ns() - start, time.thread_time_ns() - cpu

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
        inline = self._inline
        size = 0
        if inline is not None:
            size = input_elements(feeds)
            if inline.inline(size):
                result, infer_ns = self._run_inline(inline, feeds, outputs, rows, size)
                return result, started - enqueued, (0, infer_ns, 0)
        ran: asyncio.Future[_Timed] = asyncio.get_running_loop().create_future()
        # The slot is freed in _ran, when the run has really ended, even if this caller was cancelled.
        self._pool.submit(self._timed_run, (feeds, outputs), self._ran, (ran, rows, size))
        result, infer_ns, _ = await ran
        return result, started - enqueued, (0, infer_ns, 0)

    def _run_inline(
        self, inline: InlineRuns, feeds: Feeds, outputs: list[str] | None, rows: int, size: int
    ) -> tuple[list[np.ndarray], int]:
        """Run on the loop's thread; the caller holds a slot, released here."""
        try:
            result, infer_ns, cpu_ns = self._timed_run(feeds, outputs)
        except BridgewayError:
            raise
        except Exception as exc:
            raise copy_error(exc) from exc
        finally:
            self._release()
        inline.ran(size, cpu_ns, inline=True)
        self._on_run(rows, infer_ns)
        return result, infer_ns

    def _ran(
        self,
        token: tuple[asyncio.Future[_Timed], int, int],
        result: _Timed | None,
        error: BaseException | None,
    ) -> None:
        ran, rows, size = token
        self._release()
        if self._inline is not None and result is not None:
            self._inline.ran(size, result[2], inline=False)
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
