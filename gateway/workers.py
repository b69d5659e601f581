"""A fixed set of worker threads that run model calls and report back on the event loop.

``ThreadPoolExecutor`` plus ``asyncio.wrap_future`` builds a concurrent Future (a lock and a condition), a
second asyncio Future and two chained callbacks per call; measured on the unbatched path that was about a
third of the core's own cost per request. Here one queue put goes out and one ``call_soon_threadsafe`` comes
back, and the completion callback runs on the loop whether or not the caller still waits, so a scheduler can
free its slot when the run has really ended.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Done", "WorkerPool"]

# done(token, result, error), called on the event loop once the call ended (error None on success)
Done = Callable[[Any, Any, BaseException | None], None]
_Item = tuple[asyncio.AbstractEventLoop, Callable[..., Any], tuple[Any, ...], Done, Any]


class WorkerPool:
    """``threads`` daemon threads named ``name-N``; ``submit`` never blocks; ``shutdown`` fails what waits.

    Must be used from one event loop's thread. Calls run in submission order as threads free up.
    """

    def __init__(self, threads: int, name: str) -> None:
        self.threads = threads
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed: BaseException | None = None
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done, token: Any = None) -> None:
        """Run ``fn(*args)`` on a worker, then ``done(token, result, error)`` on the calling loop."""
        loop = asyncio.get_running_loop()
        if self._closed is not None:
            loop.call_soon(done, token, None, self._closed)
            return
        self._queue.put((loop, fn, args, done, token))

    def shutdown(self, error: BaseException) -> None:
        """Stop the threads after their current call; calls not started get ``done(token, None, error)``."""
        if self._closed is not None:
            return
        self._closed = error
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                loop, _, _, done, token = item
                loop.call_soon(done, token, None, error)
        for _ in self._workers:
            self._queue.put(None)

    def _work(self) -> None:
        get = self._queue.get
        while (item := get()) is not None:
            loop, fn, args, done, token = item
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the caller on the loop, never lost on this thread
                result, error = None, exc
            _call_soon(loop, done, token, result, error)
            # drop this thread's references to tensors before it waits for the next call
            del item, args, token, result, error


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Done, *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop is closed: nobody is left to tell
        pass
