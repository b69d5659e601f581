"""The scope of every call: a request id for its log lines and, at DEBUG, one access-log line.

The scope goes around each handler in one of two ways, chosen once by ``gateway.server``:

* ``scoped(handler, method)`` wraps a handler where its service is registered. With no gRPC interceptor
  configured this is the whole per-call cost; grpc.aio runs even pass-through interceptors as a chain of
  coroutines, which took about 20k instructions per call (callgrind, 400 calls, 3 % of the server's work).
* ``CallScopeInterceptor`` does the same as the first interceptor of a chain, when other interceptors
  (authentication, an embedder's) follow it: calls they refuse are still logged under a request id.
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

__all__ = ["REQUEST_ID_METADATA", "CallScopeInterceptor", "fresh_request_id", "scoped"]

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


def _request_id(metadata: Sequence[tuple[str, Any]] | None) -> str:
    return _metadata_value(metadata, REQUEST_ID_METADATA) or fresh_request_id()


class CallScopeInterceptor(grpc.aio.ServerInterceptor):
    """The call scope as the first interceptor of a chain.

    grpc.aio runs the interceptors and the handler of one call in one ``contextvars.Context``, so the id set
    here reaches the later interceptors and the handler. The servicer narrows it to the inference request's
    own ``id`` when the client set one.
    """

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        request_id_var.set(_request_id(handler_call_details.invocation_metadata))
        handler = await continuation(handler_call_details)
        if handler is None or not _access_log.isEnabledFor(logging.DEBUG):
            return handler
        return _logged(handler, handler_call_details.method)


def scoped(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """``handler`` run under a request id (the caller's ``x-request-id``, else a fresh one), with an
    access-log line at DEBUG. Wrap once, where the service is registered: the level is checked per call.
    """
    kind = _kind(handler)
    behavior = getattr(handler, kind)
    logged = getattr(_logged(handler, method), kind)

    if handler.response_streaming and inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            request_id_var.set(_request_id(context.invocation_metadata()))
            chosen = logged if _access_log.isEnabledFor(logging.DEBUG) else behavior
            async for reply in chosen(request, context):
                yield reply

        return handler._replace(**{kind: streaming})

    async def single(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        request_id_var.set(_request_id(context.invocation_metadata()))
        if _access_log.isEnabledFor(logging.DEBUG):
            return await logged(request, context)
        return await behavior(request, context)

    return handler._replace(**{kind: single})


def _kind(handler: grpc.RpcMethodHandler) -> str:
    """The handler's behaviour attribute: ``unary_unary``, ``unary_stream``, ``stream_unary`` or
    ``stream_stream``."""
    kind = ("stream" if handler.request_streaming else "unary") + "_"
    return kind + ("stream" if handler.response_streaming else "unary")


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
    kind = _kind(handler)
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
