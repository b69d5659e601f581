"""``LocalInferenceClient``: in-process inference with the gateway's own core, runtime and batcher.

The core is asyncio code; adapters are synchronous and call from several threads. So the client owns a
private event loop running in a daemon thread, hosts one ``gateway.core.InferenceCore`` on it, and turns each
synchronous call into ``asyncio.run_coroutine_threadsafe(...)`` plus a wait. Concurrent callers therefore
share one batcher, exactly as concurrent gRPC callers of the gateway do, and see the same errors.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gateway.config import ServerSettings
from gateway.core import InferenceCore
from gateway.errors import DeadlineExceeded, ServerDraining
from gateway.types import InferRequest, InferResponse, ModelConfigInfo, ModelMetadata

__all__ = ["LocalInferenceClient"]

_T = TypeVar("_T")


class LocalInferenceClient:
    """An ``InferenceClient`` running the models of a repository in this process. Thread-safe.

    Args:
        settings: the gateway settings to serve with, or just the models directory (defaults elsewhere).
        start_timeout_s: how long ``start`` may take to load and warm up every model.
        timeout_s: default deadline of each ``infer`` call; ``None`` waits as long as it takes.

    ``start()`` must be called before use (the context manager does it); ``close()`` drains in-flight calls
    for ``settings.drain_grace_s`` and stops the loop. After ``close()`` calls raise ServerDraining.
    """

    def __init__(
        self,
        settings: ServerSettings | Path | str,
        *,
        start_timeout_s: float = 300.0,
        timeout_s: float | None = None,
    ) -> None:
        if not isinstance(settings, ServerSettings):
            settings = ServerSettings(models_dir=Path(settings))
        self.settings = settings
        self._start_timeout_s = start_timeout_s
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._core: InferenceCore | None = None
        self._state_lock = threading.Lock()
        self._owned = True  # False: core and loop belong to someone else (see ``attached``)

    @classmethod
    def attached(
        cls, core: InferenceCore, loop: asyncio.AbstractEventLoop, *, timeout_s: float | None = None
    ) -> LocalInferenceClient:
        """A client for a started core that another component runs on ``loop``.

        ``bridgeway run`` uses it to give its pipelines the gateway's own core, so gRPC callers and
        pipelines share one runtime and one batcher. ``start()`` does nothing and ``close()`` only detaches:
        the core and its loop stay with their owner.
        """
        client = cls(core.settings, timeout_s=timeout_s)
        client._loop, client._core, client._owned = loop, core, False
        return client

    @property
    def core(self) -> InferenceCore:
        """The hosted core (for statistics and the repository index); raises ServerDraining when stopped."""
        return self._running()[1]

    def start(self) -> None:
        """Start the loop thread and load every model; idempotent. Load failures are recorded, not raised."""
        with self._state_lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="bridgeway-local-core", daemon=True)
            thread.start()
            core_future = asyncio.run_coroutine_threadsafe(self._start_core(), loop)
            try:
                self._core = core_future.result(self._start_timeout_s)
            except BaseException:
                _stop_loop(loop, thread)
                raise
            self._loop, self._thread = loop, thread

    async def _start_core(self) -> InferenceCore:
        # Built on the loop thread so anything the core binds to "the running loop" binds to ours.
        core = InferenceCore(self.settings)
        await core.start()
        return core

    def close(self) -> None:
        """Refuse new calls, let in-flight ones finish within the drain grace, stop the loop; idempotent."""
        with self._state_lock:
            loop, thread, core = self._loop, self._thread, self._core
            self._loop = self._thread = self._core = None
        if not self._owned or loop is None or thread is None or core is None:
            return
        grace = self.settings.drain_grace_s
        try:
            asyncio.run_coroutine_threadsafe(core.stop(grace), loop).result(grace + 5.0)
        finally:
            _stop_loop(loop, thread)

    def __enter__(self) -> LocalInferenceClient:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def infer(self, request: InferRequest, timeout_s: float | None = None) -> InferResponse:
        timeout = timeout_s if timeout_s is not None else self._timeout_s
        if timeout is not None and request.deadline is None:
            # The core drops a request whose deadline passed while queued, as it does for gRPC callers.
            request = dataclasses.replace(request, deadline=time.monotonic() + timeout)
        loop, core = self._running()
        future = asyncio.run_coroutine_threadsafe(core.infer(request), loop)
        return _wait(future, timeout, lambda: f"model {request.model_name!r}: no result within {timeout} s")

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata:
        return self._on_loop(lambda core: core.model_metadata(name, version))

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo:
        return self._on_loop(lambda core: core.model_config(name, version))

    def model_ready(self, name: str, version: str = "") -> bool:
        return self._on_loop(lambda core: core.model_ready(name, version))

    def _on_loop(self, read: Callable[[InferenceCore], _T]) -> _T:
        """Run a synchronous core method on the loop thread: the core's state belongs to that thread."""
        loop, core = self._running()

        async def call() -> _T:
            return read(core)

        return _wait(asyncio.run_coroutine_threadsafe(call(), loop), self._timeout_s, lambda: "no answer")

    def _running(self) -> tuple[asyncio.AbstractEventLoop, InferenceCore]:
        loop, core = self._loop, self._core
        if loop is None or core is None:
            raise ServerDraining("the local inference client is not started, or was closed")
        return loop, core


def _wait(future: concurrent.futures.Future[_T], timeout: float | None, what: Callable[[], str]) -> _T:
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError as exc:
        future.cancel()  # cancels the coroutine on the loop too, so the core stops waiting for it
        raise DeadlineExceeded(what()) from exc


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10.0)
    if not thread.is_alive():
        loop.close()
