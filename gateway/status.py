"""The one place that turns exceptions into gRPC statuses.

Errors of ``gateway.errors`` carry their own status code (``grpc_code``) and a caller-facing message; anything
else is a bug: the caller gets INTERNAL with a pointer to the server log (by request id), and the traceback
goes to the log only. Caller faults are logged at INFO without a traceback, server faults at ERROR with one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc

from gateway.errors import BridgewayError
from gateway.logs import request_id_var

__all__ = ["abort", "status_for", "translate_errors"]

_log = logging.getLogger("gateway.status")

_Self = TypeVar("_Self")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Handler = Callable[[_Self, _Request, grpc.aio.ServicerContext[Any, Any]], Awaitable[_Response]]


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message a caller sees for ``exc``; logs the error as a side effect."""
    if isinstance(exc, BridgewayError):
        if exc.grpc_code is grpc.StatusCode.INTERNAL:
            _log.error("request failed: %s", exc.message, exc_info=exc, extra={"code": exc.grpc_code.name})
        else:
            _log.info("request refused: %s", exc.message, extra={"code": exc.grpc_code.name})
        return exc.grpc_code, exc.message
    _log.error("unexpected error", exc_info=exc)
    request_id = request_id_var.get() or "none"
    return grpc.StatusCode.INTERNAL, f"internal error (see server log, request id {request_id})"


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> NoReturn:
    """End the call with the status for ``exc`` (raises grpc.aio.AbortError, as ``context.abort`` does)."""
    code, message = status_for(exc)
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises


def translate_errors(
    handler: _Handler[_Self, _Request, _Response],
) -> _Handler[_Self, _Request, _Response]:
    """Decorate a unary servicer method so every exception leaves as a status from ``status_for``."""

    @functools.wraps(handler)
    async def wrapper(
        self: _Self, request: _Request, context: grpc.aio.ServicerContext[Any, Any]
    ) -> _Response:
        try:
            return await handler(self, request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            # The client went away, or the handler already chose its status: nothing to translate.
            raise
        except Exception as exc:
            await abort(context, exc)

    return wrapper
