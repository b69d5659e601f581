"""Wiring for ``bridgeway run`` and ``bridgeway score``: the in-process gateway and the inference client.

:class:`GatewayHost` runs a gateway (``gateway.server.running_gateway``) on an event loop of its own, in a
background thread, so that a synchronous command can serve gRPC callers while its pipelines work. In local
mode the pipelines then share the gateway's core (``LocalInferenceClient.attached``): one runtime, one
batcher, one thread budget for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from adapters.client.base import InferenceClient
from adapters.config import BridgewayConfig, RemoteInference

__all__ = ["GatewayHost", "RuntimeSetupError", "inference_client", "remote_client", "server_settings"]

_START_TIMEOUT_S = 600.0


class RuntimeSetupError(RuntimeError):
    """The gateway or the inference client cannot be set up; the message says which option and why."""


def server_settings(config: BridgewayConfig) -> Any:
    """The gateway's ServerSettings from the config file's ``models``, ``gateway`` and ``logging`` keys."""
    from pydantic import ValidationError

    from gateway.config import ServerSettings

    section = config.gateway
    values: dict[str, Any] = {"models_dir": config.models}
    if section is not None:
        values.update(section.model_dump(exclude_none=True))
    if config.logging.mask:
        values["logging"] = {"mask": list(config.logging.mask)}
    try:
        return ServerSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"gateway.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RuntimeSetupError(problems) from exc


class GatewayHost:
    """A started gateway on a private event loop. ``start`` returns once every model is loaded."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bridgeway-gateway", daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self.gateway: Any = None

    def start(self) -> None:
        """Bind the ports and load the models. Raises OSError when a port is taken."""
        from gateway.server import running_gateway

        self._thread.start()

        async def enter() -> Any:
            return await self._stack.enter_async_context(running_gateway(self.settings))

        try:
            self.gateway = asyncio.run_coroutine_threadsafe(enter(), self._loop).result(_START_TIMEOUT_S)
        except BaseException:
            self._halt()
            raise

    @property
    def port(self) -> int:
        return int(self.gateway.port)

    def local_client(self, timeout_s: float | None) -> InferenceClient:
        """An in-process client on the gateway's own core."""
        from adapters.client.local import LocalInferenceClient

        return LocalInferenceClient.attached(self.gateway.core, self._loop, timeout_s=timeout_s)

    def stop(self) -> None:
        """Drain the gateway (in-flight calls finish within its grace period) and stop the loop."""
        if self.gateway is not None:
            grace = float(self.settings.drain_grace_s)
            asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop).result(grace + 30.0)
            self.gateway = None
        self._halt()

    def _halt(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        if not self._thread.is_alive():
            self._loop.close()


def inference_client(config: BridgewayConfig, host: GatewayHost | None) -> InferenceClient:
    """The one client of a ``bridgeway run`` process: the gateway's core, a private core, or remote."""
    inference = config.inference
    if isinstance(inference, RemoteInference):
        tls = inference.tls
        return remote_client(
            list(inference.all_targets),
            token_file=inference.token_file,
            timeout_s=inference.timeout_s,
            tls=tls.model_dump() if tls is not None else None,
        )
    if host is not None:
        return host.local_client(inference.timeout_s)
    from adapters.client.local import LocalInferenceClient

    client = LocalInferenceClient(server_settings(config), timeout_s=inference.timeout_s)
    client.start()
    return client


def remote_client(
    targets: list[str],
    *,
    token_file: Path | None = None,
    timeout_s: float | None = 30.0,
    tls: dict[str, Any] | None = None,
) -> InferenceClient:
    """A RemoteInferenceClient; raises RuntimeSetupError when the token or TLS files cannot be read."""
    from adapters.client.remote import RemoteInferenceClient, TlsOptions

    token = None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise RuntimeSetupError(f"token_file {token_file}: cannot read it ({exc})") from exc
        if not token:
            raise RuntimeSetupError(f"token_file {token_file} is empty")
    try:
        options = TlsOptions(**tls) if tls is not None else None
        return RemoteInferenceClient(targets, tls=options, token=token, timeout_s=timeout_s)
    except ValueError as exc:
        raise RuntimeSetupError(str(exc)) from exc
