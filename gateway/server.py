"""The gateway process: grpc.aio server lifecycle around one ``InferenceCore``.

Start-up order: health says NOT_SERVING, the port is bound (so liveness probes answer while models load), the
``listening`` line is logged, the core loads and warms every model, then health says SERVING and ``ready`` is
logged. Stop (SIGTERM/SIGINT, or leaving ``running_gateway``): health says NOT_SERVING, the core refuses new
work (UNAVAILABLE) and lets queued and running requests finish within the grace period, then the gRPC server
stops with the same grace, then the metrics server.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from gateway.call_scope import CallScopeInterceptor, scoped
from gateway.config import ServerSettings
from gateway.core import InferenceCore
from gateway.health import GatewayHealth
from gateway.logs import configure_logging
from gateway.metrics import GatewayMetrics
from gateway.servicer import InferenceServicer
from gateway.trust import GatewayTrust, TrustSetupError
from protos import pb, pb_grpc

__all__ = ["SERVICE_NAMES", "GatewayServer", "running_gateway", "serve"]

_log = logging.getLogger("gateway.server")

SERVICE_NAMES = (
    pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name,
    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    reflection.SERVICE_NAME,
)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


_Wrap = Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler]


class _ScopedHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers are wrapped once, on first use, by ``wrap``."""

    def __init__(self, inner: grpc.GenericRpcHandler, wrap: _Wrap) -> None:
        self._inner = inner
        self._wrap = wrap
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}  # bounded: only methods the service has

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        handler = self._wrapped.get(method)
        if handler is None:
            found = self._inner.service(handler_call_details)
            if found is None:
                return None
            handler = self._wrapped[method] = self._wrap(found, method)
        return handler


class _GenericHandlersOnly:
    """Hands a generated ``add_*_to_server`` function's generic handler to the server (wrapped by
    ``wrap`` when given), and drops its table of registered methods.

    For every call, grpc.aio waits on one pending request task per registered method (24 with the
    inference service and health); with generic handlers only it waits on one. Clients see no difference.
    callgrind, 400 sequential breast-cancer batch-1 calls: 771k -> 647k instructions per call.
    """

    def __init__(self, server: grpc.aio.Server, wrap: _Wrap | None) -> None:
        self._server = server
        self._wrap = wrap

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        wrap = self._wrap
        self._server.add_generic_rpc_handlers(
            handlers if wrap is None else tuple(_ScopedHandler(h, wrap) for h in handlers)
        )

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        """Left out on purpose: see the class docstring."""


class GatewayServer:
    """The serving parts of one gateway process: gRPC service, health, reflection, metrics and the core.

    The security settings (TLS, tokens, audit log, health port) become the listening port's credentials, the
    authentication interceptor and the per-request guard through ``gateway.trust``. Every call runs in the
    scope of ``gateway.call_scope`` (request id, access log); ``interceptors`` come after authentication,
    and calls either refuses are still logged under a request id.
    """

    def __init__(
        self,
        settings: ServerSettings,
        core: InferenceCore,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    ) -> None:
        self.settings = settings
        self.core = core
        self._interceptors = list(interceptors)
        self._trust: GatewayTrust | None = None
        self._metrics = GatewayMetrics()
        self._server: grpc.aio.Server | None = None
        self._health: GatewayHealth | None = None
        self.port = 0
        self.metrics_port = 0
        self.health_port = 0

    def _build_server(self, health: GatewayHealth, trust: GatewayTrust) -> grpc.aio.Server:
        options = [
            ("grpc.max_send_message_length", self.settings.max_send_message_bytes),
            ("grpc.max_receive_message_length", self.settings.max_receive_message_bytes),
            # Two gateways must not silently share one port.
            ("grpc.so_reuseport", 0),
        ]
        chain = [*trust.interceptors, *self._interceptors]
        if chain:
            # The scope comes first, so the calls a later interceptor refuses are logged under a request id.
            server = grpc.aio.server(interceptors=[CallScopeInterceptor(), *chain], options=options)
            services = _GenericHandlersOnly(server, wrap=None)
        else:
            server = grpc.aio.server(options=options)
            services = _GenericHandlersOnly(server, wrap=scoped)
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(
            InferenceServicer(self.core, trust.guard), services
        )
        health_pb2_grpc.add_HealthServicer_to_server(health.servicer, services)
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer(SERVICE_NAMES), services
        )
        return server

    async def start(self) -> None:
        """Bind, start serving, load the models. Raises OSError when a port cannot be bound and
        TrustSetupError when a security setting cannot be honoured; whatever had started by then is shut down
        again before the error propagates.
        """
        try:
            await self._start()
        except BaseException:
            await self._shutdown(0)
            raise

    async def _start(self) -> None:
        self.core.add_observer(self._metrics)
        self.core.add_state_listener(self._metrics.on_model_state)
        self._health = health = GatewayHealth(self.core)
        await health.starting()
        self._trust = trust = GatewayTrust.open(self.settings)
        self._server = server = self._build_server(health, trust)
        address = _address(self.settings.host, self.settings.port)
        health_port = self.settings.health_port
        health_address = None if health_port is None else _address(self.settings.host, health_port)
        try:
            self.port, self.health_port = trust.bind(server, address, health_address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {address}: {exc}") from exc
        await server.start()
        self.metrics_port = self._metrics.serve_http(self.settings.host, self.settings.metrics_port)
        _log.info(
            "listening",
            extra={
                "host": self.settings.host,
                "port": self.port,
                "metrics_port": self.metrics_port,
                "health_port": self.health_port,
            },
        )
        await self.core.start()
        await health.serving()
        _log.info("ready", extra={"models": self.core.model_names()})

    async def stop(self, grace_s: float | None = None) -> None:
        """Drain and stop; in-flight calls finish within ``grace_s`` (default: the settings' drain grace)."""
        grace = self.settings.drain_grace_s if grace_s is None else grace_s
        _log.info("draining", extra={"grace_s": grace})
        await self._shutdown(grace)
        _log.info("stopped")

    async def _shutdown(self, grace: float) -> None:
        # Health first, so balancers stop routing here while the core finishes what it accepted.
        if self._health is not None:
            await self._health.draining()
        await self.core.stop(grace)
        if self._server is not None:
            await self._server.stop(grace)
        self._metrics.close()
        if self._trust is not None:
            self._trust.close()  # after the server stopped: every request's audit event is queued


@asynccontextmanager
async def running_gateway(
    settings: ServerSettings,
    core: InferenceCore | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> AsyncIterator[GatewayServer]:
    """A started gateway for the duration of the block (ports in ``.port`` / ``.metrics_port``)."""
    gateway = GatewayServer(settings, core if core is not None else InferenceCore(settings), interceptors)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def _serve_until_signalled(settings: ServerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running_gateway(settings):
        await stop.wait()


# A worker thread whose model run has ended needs the GIL to hand its result back; while the event loop is
# busy decoding other calls it waits up to the switch interval (5 ms by default), idling its slot and the
# batcher meanwhile. 0.5 ms raised unbatched rows/s of a ~3M-parameter MLP under 8-32 callers by about 10 %.
GIL_SWITCH_INTERVAL_S = 0.0005


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed, else None (the standard loop).

    The gRPC service's own per-call work runs as asyncio callbacks; uvloop runs them in compiled code, which
    took a fifth off the instructions per request of a small model in bench/gateway.py. Its clock and timers
    have millisecond resolution, so a batching delay under a millisecond ends on the next millisecond tick.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def serve(settings: ServerSettings, log_level: int | str = logging.INFO) -> int:
    """Run a gateway until SIGTERM or SIGINT, then drain. Returns the process exit code.

    This owns the process, so it also shortens the GIL switch interval to ``GIL_SWITCH_INTERVAL_S``.
    """
    configure_logging(log_level, mask=settings.logging.mask)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(_serve_until_signalled(settings))
    except (OSError, TrustSetupError) as exc:
        _log.error("cannot start", extra={"reason": str(exc)})
        return 1
    return 0
