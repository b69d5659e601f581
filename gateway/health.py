"""``grpc.health.v1.Health``: the server as a whole and each model, for load balancers and Kubernetes probes.

Service names: ``""`` is the whole server, SERVING once the core is ready and NOT_SERVING while starting and
draining; ``"<model>"`` follows the model's default version; ``"<model>/<version>"`` follows one version.
Model entries are driven by the core's state listener, which may call from a worker thread.
"""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

from gateway.core import InferenceCore
from gateway.errors import BridgewayError

__all__ = ["GatewayHealth"]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GatewayHealth:
    """Owns the health servicer and keeps it in step with the core. Create it on the server's event loop."""

    def __init__(self, core: InferenceCore) -> None:
        self.servicer = health_aio.HealthServicer()
        self._core = core
        self._loop = asyncio.get_running_loop()
        self._pending: set[asyncio.Task[None]] = set()

    async def starting(self) -> None:
        """Report NOT_SERVING until ``serving`` is called (the servicer starts out SERVING)."""
        await self.servicer.set("", NOT_SERVING)
        self._core.add_state_listener(self.on_model_state)

    async def serving(self) -> None:
        """The core finished starting: the server and every ready model report SERVING."""
        for name in self._core.model_names():
            await self._refresh_model(name)
        await self.servicer.set("", SERVING if self._core.server_ready() else NOT_SERVING)

    async def draining(self) -> None:
        """Everything reports NOT_SERVING for good, so balancers stop sending new calls."""
        await self.servicer.enter_graceful_shutdown()

    def on_model_state(self, model: str, version: str, state: str) -> None:
        """The core's state listener; safe to call from any thread."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._track(model, version, state)
        else:
            self._loop.call_soon_threadsafe(self._track, model, version, state)

    def _track(self, model: str, version: str, state: str) -> None:
        task = self._loop.create_task(self._apply(model, version, state))
        # The loop keeps only weak references to tasks: hold this one until it is done.
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _apply(self, model: str, version: str, state: str) -> None:
        if version:  # "" stands for the whole model when it has no usable version
            await self.servicer.set(f"{model}/{version}", SERVING if state == "READY" else NOT_SERVING)
        await self._refresh_model(model)

    async def _refresh_model(self, model: str) -> None:
        try:
            ready = self._core.model_ready(model)
        except BridgewayError:  # e.g. the model folder was removed and then unloaded
            ready = False
        await self.servicer.set(model, SERVING if ready else NOT_SERVING)
