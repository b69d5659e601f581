"""gateway.call_scope: every call gets a request id and, at DEBUG, an access-log line, whether the scope is
wrapped around the handler at registration or runs as the first interceptor."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from gateway.call_scope import CallScopeInterceptor, scoped
from gateway.logs import request_id_var

METHOD = "/inference.GRPCInferenceService/ModelInfer"


class _Context:
    def __init__(self, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def code(self) -> None:
        return None

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"


async def _unary(request: Any, context: Any) -> str:
    return request_id_var.get()


async def _streaming(request: Any, context: Any) -> AsyncIterator[str]:
    for _ in range(2):
        yield request_id_var.get()


def _call(handler: grpc.RpcMethodHandler, context: _Context) -> Any:
    """Run the handler's behaviour in a fresh context, as grpc.aio runs each call."""

    async def run() -> Any:
        if handler.response_streaming:
            return [reply async for reply in handler.unary_stream(None, context)]
        return await handler.unary_unary(None, context)

    return contextvars.Context().run(asyncio.run, run())


def test_a_wrapped_handler_runs_under_the_callers_request_id() -> None:
    handler = scoped(grpc.unary_unary_rpc_method_handler(_unary), METHOD)
    assert _call(handler, _Context((("x-request-id", "trace-7"),))) == "trace-7"


def test_without_an_id_each_call_gets_a_fresh_one() -> None:
    handler = scoped(grpc.unary_unary_rpc_method_handler(_unary), METHOD)
    first, second = _call(handler, _Context()), _call(handler, _Context())
    assert len(first) == len(second) == 32
    assert first != second


def test_a_wrapped_streaming_handler_keeps_its_id_for_every_reply() -> None:
    handler = scoped(grpc.unary_stream_rpc_method_handler(_streaming), METHOD)
    assert _call(handler, _Context((("x-request-id", "s-1"),))) == ["s-1", "s-1"]


def test_the_access_log_line_appears_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    handler = scoped(grpc.unary_unary_rpc_method_handler(_unary), METHOD)
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        _call(handler, _Context())
    assert not [r for r in caplog.records if r.name == "gateway.access"]
    with caplog.at_level(logging.DEBUG, logger="gateway.access"):
        _call(handler, _Context())
    (line,) = [r for r in caplog.records if r.name == "gateway.access"]
    assert (line.getMessage(), line.method, line.code) == ("call", METHOD, "OK")  # type: ignore[attr-defined]


def test_as_an_interceptor_the_id_is_set_before_later_interceptors_and_the_handler_run() -> None:
    seen: list[str] = []

    async def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        seen.append(request_id_var.get())  # what a later interceptor (authentication) would see
        return grpc.unary_unary_rpc_method_handler(_unary)

    class Details:
        method = METHOD
        invocation_metadata = (("x-request-id", "auth-3"),)

    async def run() -> str:
        handler = await CallScopeInterceptor().intercept_service(continuation, Details())  # type: ignore[arg-type]
        assert handler is not None
        return await handler.unary_unary(None, _Context())  # type: ignore[no-any-return]

    assert contextvars.Context().run(asyncio.run, run()) == "auth-3"
    assert seen == ["auth-3"]
