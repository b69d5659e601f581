"""``RemoteInferenceClient``: the Open Inference Protocol over gRPC, to one gateway or a fleet of them.

Tensors travel raw (``raw_input_contents``; BYTES elements with 4-byte little-endian length prefixes), through
the same ``gateway.convert`` functions the servicer uses, so both ends read the wire format one way.

This module is the one place ``grpc.RpcError`` is translated: each status becomes the ``gateway.errors`` class
that declares its code (``raise ... from exc`` keeps the cause). Calls that fail with a ``retryable`` class
are retried with capped exponential backoff; with several targets, calls go round-robin and an UNAVAILABLE
target is skipped for the next one straight away (failover) before any backoff.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

from gateway import convert, convert_models
from gateway.errors import BridgewayError, DeadlineExceeded, RuntimeFailure, error_for_code
from gateway.types import InferRequest, InferResponse, ModelConfigInfo, ModelMetadata
from protos import pb, pb_grpc

__all__ = ["RemoteInferenceClient", "RetryPolicy", "TlsOptions"]

_T = TypeVar("_T")
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS towards the gateways. All paths are PEM files; ``None`` leaves the gRPC default.

    ``root_ca``: CA that signed the servers' certificates (default: the system roots). ``client_cert`` and
    ``client_key``: our certificate for mutual TLS (both or neither). ``server_name``: the name to check the
    server certificate against when it differs from the target host (e.g. connecting by IP address).
    """

    root_ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        """Channel credentials; raises ValueError naming the option whose file cannot be read."""
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("TLS: client_cert and client_key must be given together")
        return grpc.ssl_channel_credentials(
            root_certificates=_read("root_ca", self.root_ca),
            private_key=_read("client_key", self.client_key),
            certificate_chain=_read("client_cert", self.client_cert),
        )


def _read(option: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"TLS {option}: cannot read {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of calls failing with a retryable error: at most ``retries`` more attempts, waiting
    ``initial_s * 2**n`` (capped at ``max_s``, with up to 50 % random jitter downwards) between them.
    """

    retries: int = 3
    initial_s: float = 0.05
    max_s: float = 2.0

    def delay(self, attempt: int) -> float:
        capped = min(self.max_s, self.initial_s * 2.0**attempt)
        return capped * (1 - random.random() / 2)


class RemoteInferenceClient:
    """An ``InferenceClient`` over gRPC. Thread-safe: gRPC channels are, and round-robin state is locked.

    Args:
        targets: ``"host:port"`` of each gateway; calls are spread round-robin.
        tls: TLS settings; ``None`` for a plaintext channel (loopback and tests).
        token: bearer token sent as ``authorization: Bearer <token>`` on every call.
        timeout_s: default deadline of each call (``infer`` may pass its own).
        retry: retry policy for retryable errors (ModelNotReady, QueueFull, DeadlineExceeded).
        max_message_bytes: gRPC send/receive size limit (default far above gRPC's 4 MiB, like the gateway).
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        tls: TlsOptions | None = None,
        token: str | None = None,
        timeout_s: float | None = 30.0,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = 256 * _MIB,
    ) -> None:
        if not targets:
            raise ValueError("RemoteInferenceClient needs at least one target 'host:port'")
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        options: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        credentials = tls.credentials() if tls is not None else None
        if tls is not None and tls.server_name:
            options.append(("grpc.ssl_target_name_override", tls.server_name))
        self._channels = [_channel(t, credentials, options) for t in targets]
        self._stubs = [pb_grpc.GRPCInferenceServiceStub(c) for c in self._channels]
        self._next = itertools.count()
        self._lock = threading.Lock()

    def infer(self, request: InferRequest, timeout_s: float | None = None) -> InferResponse:
        message = convert.request_to_pb(request)

        def attempt(stub: pb_grpc.GRPCInferenceServiceStub, timeout: float | None) -> pb.ModelInferResponse:
            # The request's own deadline (monotonic) bounds every attempt, retries included.
            if request.deadline is not None:
                remaining = request.deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(f"model {request.model_name!r}: the request's deadline has passed")
                timeout = remaining if timeout is None else min(timeout, remaining)
            answer: pb.ModelInferResponse = stub.ModelInfer(message, timeout=timeout, metadata=self._metadata)
            return answer

        reply = self._call(attempt, timeout_s)
        try:
            return convert.response_from_pb(reply)
        except BridgewayError as exc:
            # A reply we cannot decode is the server's fault, never the caller's input.
            raise RuntimeFailure(f"model {request.model_name!r} sent a malformed response: {exc}") from exc

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata:
        message = pb.ModelMetadataRequest(name=name, version=version)
        reply = self._call(lambda stub, t: stub.ModelMetadata(message, timeout=t, metadata=self._metadata))
        return convert_models.metadata_from_pb(reply)

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo:
        message = pb.ModelConfigRequest(name=name, version=version)
        reply = self._call(lambda stub, t: stub.ModelConfig(message, timeout=t, metadata=self._metadata))
        if not version:
            # ModelConfig does not say which version answered; the default one is the highest served.
            served = self.model_metadata(name, version).versions
            version = max(served, key=lambda v: (len(v), v)) if served else ""
        return convert_models.config_from_pb(reply.config, version)

    def model_ready(self, name: str, version: str = "") -> bool:
        message = pb.ModelReadyRequest(name=name, version=version)
        reply = self._call(lambda stub, t: stub.ModelReady(message, timeout=t, metadata=self._metadata))
        return bool(reply.ready)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> RemoteInferenceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        rpc: Callable[[pb_grpc.GRPCInferenceServiceStub, float | None], _T],
        timeout_s: float | None = None,
    ) -> _T:
        """Run ``rpc`` with failover across targets and retries of retryable errors; translate failures."""
        timeout = timeout_s if timeout_s is not None else self._timeout_s
        attempt = 0
        while True:
            try:
                return self._once_per_target(rpc, timeout)
            except grpc.RpcError as exc:
                error = _translate(exc)
                if not error.retryable or attempt >= self._retry.retries:
                    raise error from exc
            time.sleep(self._retry.delay(attempt))
            attempt += 1

    def _once_per_target(
        self, rpc: Callable[[pb_grpc.GRPCInferenceServiceStub, float | None], _T], timeout: float | None
    ) -> _T:
        """Try the next target in turn; on UNAVAILABLE move on to the others once. Raises the last error."""
        with self._lock:
            first = next(self._next) % len(self._stubs)
        order = self._stubs[first:] + self._stubs[:first]
        for index, stub in enumerate(order):
            try:
                return rpc(stub, timeout)
            except grpc.RpcError as exc:
                if _code(exc) is not grpc.StatusCode.UNAVAILABLE or index == len(order) - 1:
                    raise
        raise AssertionError("unreachable: the last target either returns or raises")


def _channel(
    target: str, credentials: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def _code(exc: grpc.RpcError) -> grpc.StatusCode:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _translate(exc: grpc.RpcError) -> BridgewayError:
    """The gateway.errors class the server raised (by status code), with the server's message."""
    details = exc.details() if isinstance(exc, grpc.Call) else None
    return error_for_code(_code(exc), details or _code(exc).name.lower().replace("_", " "))
