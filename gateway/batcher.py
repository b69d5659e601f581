"""Dynamic batching: concurrent requests to one model version merged into one onnxruntime run.

Implements ``gateway.scheduling.Scheduler``; see there for the shared contract (pool, queue bound,
deadlines, cancellation, what ``submit`` returns).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Hashable

import numpy as np

from gateway.config import BatchingConfig
from gateway.errors import BridgewayError, QueueFull, RuntimeFailure
from gateway.scheduling import BatchListener, Feeds, RunFn, SubmitResult, copy_error, expired
from gateway.workers import WorkerPool

__all__ = ["BatchScheduler"]

_QUEUED, _TAKEN, _DEAD = 0, 1, 2


class _Item:
    __slots__ = ("deadline", "enqueued", "feeds", "future", "key", "outputs", "rows", "seq", "state", "timer")

    def __init__(
        self,
        feeds: Feeds,
        rows: int,
        key: Hashable,
        outputs: list[str] | None,
        deadline: float | None,
        future: asyncio.Future[SubmitResult],
        seq: int,
    ) -> None:
        self.feeds = feeds
        self.rows = rows
        self.key = key
        self.outputs = outputs
        self.deadline = deadline
        self.future = future
        self.seq = seq
        self.enqueued = time.monotonic_ns()
        self.state = _QUEUED
        self.timer: asyncio.TimerHandle | None = None


class BatchScheduler:
    """Dynamic batching: concurrent requests whose non-batch shapes agree (same ``key``) become one run.

    A batch holds at most ``max_batch_size`` rows. The oldest queued request waits at most
    ``max_queue_delay_us`` for company; reaching a preferred batch size or the maximum dispatches at once.
    Requests are merged with one ``np.concatenate`` per input and each caller gets views of its own rows of
    the outputs. At most ``concurrency`` batches run at once; while they run, the queue fills the next one.
    """

    def __init__(
        self,
        run: RunFn,
        pool: WorkerPool,
        config: BatchingConfig,
        concurrency: int,
        input_names: list[str],
        output_names: list[str],
        on_batch: BatchListener,
    ) -> None:
        self._run = run
        self._pool = pool
        self._config = config
        self._delay_s = config.max_queue_delay_us / 1e6
        self._preferred = sorted(set(config.preferred_batch_sizes))
        self._concurrency = concurrency
        self._free = concurrency
        self._input_names = input_names
        self._output_index = {name: i for i, name in enumerate(output_names)}
        self._on_batch = on_batch
        self._queues: dict[Hashable, deque[_Item]] = {}
        self._rows: dict[Hashable, int] = {}
        self._count = 0  # live queued requests
        self._seq = itertools.count()
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed: BridgewayError | None = None

    # --- callers ------------------------------------------------------------------------------------------

    async def submit(
        self, feeds: Feeds, rows: int, key: Hashable | None, outputs: list[str] | None, deadline: float | None
    ) -> SubmitResult:
        if self._closed is not None:
            raise copy_error(self._closed)
        if self._config.max_queue_size and self._count >= self._config.max_queue_size:
            raise QueueFull(f"queue is full ({self._config.max_queue_size} requests waiting)")
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._dispatch_forever())
        if key is None or rows > self._config.max_batch_size:
            key = object()  # runs alone: a key equal to nothing else
        future: asyncio.Future[SubmitResult] = loop.create_future()
        item = _Item(feeds, rows, key, outputs, deadline, future, next(self._seq))
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._rows[key] = 0
        queue.append(item)
        self._rows[key] += rows
        self._count += 1
        if deadline is not None:
            item.timer = loop.call_later(deadline - time.monotonic(), self._expire, item)
        self._notify()
        try:
            return await future
        except asyncio.CancelledError:
            self._drop(item)
            raise
        finally:
            if item.timer is not None:
                item.timer.cancel()

    def _notify(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _drop(self, item: _Item) -> None:
        """A queued request left (cancelled or expired): it no longer counts, and will never run."""
        if item.state == _QUEUED:
            item.state = _DEAD
            self._rows[item.key] -= item.rows
            self._count -= 1

    def _expire(self, item: _Item) -> None:
        if item.state == _QUEUED and item.deadline is not None:
            self._drop(item)
            if not item.future.done():
                item.future.set_exception(expired(item.deadline))

    # --- dispatcher ---------------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            while self._count == 0 or self._free == 0:
                await self._sleep(None)
            limit = await self._wait_for_company() if self._delay_s else self._config.max_batch_size
            batch = self._take(limit)
            if batch:
                self._free -= 1
                self._launch(batch)

    async def _sleep(self, until: float | None) -> None:
        """Wait for an arrival, a finished batch, or the loop time ``until``."""
        loop = asyncio.get_running_loop()
        self._wake = wake = loop.create_future()
        timer = loop.call_at(until, self._notify) if until is not None else None
        try:
            await wake
        finally:
            self._wake = None
            if timer is not None:
                timer.cancel()

    def _head(self) -> _Item | None:
        """The oldest live queued request (dead ones at the front of each queue are discarded)."""
        best: _Item | None = None
        for key in list(self._queues):
            queue = self._queues[key]
            while queue and queue[0].state != _QUEUED:
                queue.popleft()
            if not queue:
                del self._queues[key]
                del self._rows[key]
            elif best is None or queue[0].seq < best.seq:
                best = queue[0]
        return best

    async def _wait_for_company(self) -> int:
        """Wait up to the queue delay of the oldest request; returns the row limit of the batch to take."""
        maximum = self._config.max_batch_size
        loop = asyncio.get_running_loop()
        head = self._head()
        while head is not None:
            rows = self._rows[head.key]
            if rows >= maximum:
                return maximum
            reached = [p for p in self._preferred if p <= rows]
            if reached:
                return reached[-1]
            until = loop.time() + self._delay_s - (time.monotonic_ns() - head.enqueued) / 1e9
            if loop.time() >= until:
                return maximum
            await self._sleep(until)
            head = self._head()
        return maximum

    def _take(self, limit: int) -> list[_Item]:
        """Pop the oldest request and the same-key requests after it that fit in ``limit`` rows."""
        head = self._head()
        if head is None:
            return []
        queue = self._queues[head.key]
        now = time.monotonic()
        batch: list[_Item] = []
        rows = 0
        while queue:
            item = queue[0]
            if item.state != _QUEUED:
                queue.popleft()
                continue
            if item.deadline is not None and item.deadline <= now:
                queue.popleft()
                self._expire(item)
                continue
            if batch and rows + item.rows > limit:
                break
            queue.popleft()
            item.state = _TAKEN
            self._rows[item.key] -= item.rows
            self._count -= 1
            batch.append(item)
            rows += item.rows
        return batch

    # --- execution ----------------------------------------------------------------------------------------

    def _launch(self, batch: list[_Item]) -> None:
        self._pool.submit(self._execute, (batch,), self._finished, (batch, time.monotonic_ns()))

    def _execute(self, batch: list[_Item]) -> tuple[list[np.ndarray], int, int]:
        """On a worker thread: merge the inputs once, run once. Returns (outputs, input_ns, infer_ns)."""
        start = time.perf_counter_ns()
        if len(batch) == 1:
            feeds = batch[0].feeds
        else:
            feeds = {name: np.concatenate([it.feeds[name] for it in batch]) for name in self._input_names}
        merged = time.perf_counter_ns()
        outputs = self._run(feeds, None)
        return outputs, merged - start, time.perf_counter_ns() - merged

    def _finished(
        self,
        token: tuple[list[_Item], int],
        result: tuple[list[np.ndarray], int, int] | None,
        error: BaseException | None,
    ) -> None:
        batch, dispatched = token
        self._free += 1
        self._notify()
        if error is not None or result is None:
            self._finish_failed(batch, error or RuntimeFailure("the model run returned nothing"))
            return
        outputs, input_ns, infer_ns = result
        rows = sum(item.rows for item in batch)
        split_start = time.perf_counter_ns()
        try:
            results = self._split(batch, outputs, rows)
        except RuntimeFailure as err:
            self._finish_failed(batch, err)
            return
        compute = (input_ns, infer_ns, time.perf_counter_ns() - split_start)
        self._on_batch(rows, infer_ns)
        for item, own in zip(batch, results, strict=True):
            if not item.future.done():
                item.future.set_result((own, dispatched - item.enqueued, compute))

    def _split(self, batch: list[_Item], outputs: list[np.ndarray], rows: int) -> list[list[np.ndarray]]:
        if len(batch) == 1:
            return [self._select(batch[0], outputs)]
        for name, index in self._output_index.items():
            got = outputs[index].shape[0] if outputs[index].ndim else None
            if got != rows:
                raise RuntimeFailure(
                    f"output '{name}' has leading dimension {got} for a batch of {rows} rows; "
                    "serve this model with batching: false"
                )
        results = []
        start = 0
        for item in batch:
            stop = start + item.rows
            results.append(self._select(item, [out[start:stop] for out in outputs]))
            start = stop
        return results

    def _select(self, item: _Item, outputs: list[np.ndarray]) -> list[np.ndarray]:
        if item.outputs is None:
            return outputs
        return [outputs[self._output_index[name]] for name in item.outputs]

    def _finish_failed(self, batch: list[_Item], exc: BaseException) -> None:
        for item in batch:
            if not item.future.done():
                item.future.set_exception(copy_error(exc))

    def queued(self) -> int:
        return self._count

    def running(self) -> int:
        return self._concurrency - self._free

    def close(self, error: BridgewayError) -> None:
        self._closed = error
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for queue in self._queues.values():
            for item in queue:
                if item.state == _QUEUED and not item.future.done():
                    item.state = _DEAD
                    item.future.set_exception(copy_error(error))
        self._queues.clear()
        self._rows.clear()
        self._count = 0
