"""Server interceptors: cross-cutting concerns only (request id, access log; authentication plugs in here).

Order matters and is fixed by ``gateway.server``: the request id is set first, so every later interceptor
and the handler log with it; the access log comes next, so it also records calls that a later interceptor
(such as authentication) refuses.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from gateway.logs import request_id_var

__all__ = ["REQUEST_ID_METADATA", "AccessLogInterceptor", "RequestIdInterceptor", "fresh_request_id"]

# Metadata key a client may use to choose the id its call is logged under.
REQUEST_ID_METADATA = "x-request-id"

_access_log = logging.getLogger("gateway.access")

# Fresh request ids: 32 hex digits, a random per-process half and a counter. uuid4 reads the OS's random
# source on every call, which cost about 9 µs per request on a small VM.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count()


def fresh_request_id() -> str:
    """An id no other call of this process has (nor, but for a 64-bit coincidence, any other process)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


def _metadata_value(metadata: Sequence[tuple[str, Any]] | None, key: str) -> str:
    for name, value in metadata or ():
        if name == key:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return ""


class RequestIdInterceptor(grpc.aio.ServerInterceptor):
    """Gives every call a request id for the logs: the client's ``x-request-id``, else a fresh one.

    grpc.aio runs the interceptors and the handler of one call in one ``contextvars.Context``, so setting
    ``request_id_var`` here reaches the handler. The servicer narrows it to the inference request's own
    ``id`` when the client set one.
    """

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        metadata = handler_call_details.invocation_metadata
        request_id_var.set(_metadata_value(metadata, REQUEST_ID_METADATA) or fresh_request_id())
        return await continuation(handler_call_details)


class AccessLogInterceptor(grpc.aio.ServerInterceptor):
    """At DEBUG, one log line per call: method, peer, status code, duration. Costs nothing when off."""

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or not _access_log.isEnabledFor(logging.DEBUG):
            return handler
        return _logged(handler, handler_call_details.method)


def _log_call(method: str, context: grpc.aio.ServicerContext[Any, Any], started: float, failed: bool) -> None:
    code = context.code()
    if code is None:
        code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
    _access_log.debug(
        "call",
        extra={
            "method": method,
            "peer": context.peer(),
            "code": code.name if isinstance(code, grpc.StatusCode) else str(code),
            "duration_ms": round((time.perf_counter() - started) * 1e3, 3),
        },
    )


def _logged(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour wrapped in an access-log line."""
    kind = ("stream" if handler.request_streaming else "unary") + "_"
    kind += "stream" if handler.response_streaming else "unary"
    behavior = getattr(handler, kind)

    if handler.response_streaming and inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            started, failed = time.perf_counter(), True
            try:
                async for reply in behavior(request, context):
                    yield reply
                failed = False
            finally:
                _log_call(method, context, started, failed)

        wrapped: Callable[..., Any] = streaming
    else:

        async def single(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, failed = time.perf_counter(), True
            try:
                result = await behavior(request, context)
                failed = False
                return result
            finally:
                _log_call(method, context, started, failed)

        wrapped = single
    return handler._replace(**{kind: wrapped})
