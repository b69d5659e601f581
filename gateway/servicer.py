"""The Open Inference Protocol gRPC service: decode, call ``InferenceCore``, encode. No business rules.

Every method's errors leave through ``gateway.status``. The protocol's shared-memory, trace and log-settings
RPCs answer UNIMPLEMENTED with a message saying what to do instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from importlib import metadata
from typing import Any, TypeAlias

import grpc

from gateway import convert, convert_models
from gateway.core import InferenceCore
from gateway.errors import InvalidInput
from gateway.guard import InferenceGuard
from gateway.logs import request_id_var
from gateway.status import status_for, translate_errors
from gateway.types import InferResponse
from protos import pb, pb_grpc

__all__ = ["EXTENSIONS", "SERVER_NAME", "InferenceServicer"]

SERVER_NAME = "bridgeway"
EXTENSIONS = ("model_repository", "model_configuration", "statistics")

_Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_NO_SHARED_MEMORY = "shared memory is not supported; send tensor data in the request"


def _unsupported(method: str, reason: str) -> Any:
    """A handler for a protocol RPC this gateway does not offer: UNIMPLEMENTED, saying what to do instead."""

    async def handler(self: InferenceServicer, request: Any, context: _Context) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method}: {reason}")

    handler.__name__ = method
    return handler


def _server_version() -> str:
    try:
        return metadata.version("bridgeway")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    """``inference.GRPCInferenceService`` over one ``InferenceCore``.

    ``guard``: when set, every inference request (unary or streamed) goes through it, which checks the
    caller's permission for the model and records an audit event (``gateway.guard``).
    """

    def __init__(self, core: InferenceCore, guard: InferenceGuard | None = None) -> None:
        self._core = core
        self._guard = guard
        self._metadata = pb.ServerMetadataResponse(
            name=SERVER_NAME, version=_server_version(), extensions=EXTENSIONS
        )

    @translate_errors
    async def ServerLive(self, request: pb.ServerLiveRequest, context: _Context) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=self._core.server_live())

    @translate_errors
    async def ServerReady(self, request: pb.ServerReadyRequest, context: _Context) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self._core.server_ready())

    @translate_errors
    async def ModelReady(self, request: pb.ModelReadyRequest, context: _Context) -> pb.ModelReadyResponse:
        return pb.ModelReadyResponse(ready=self._core.model_ready(request.name, request.version))

    @translate_errors
    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: _Context
    ) -> pb.ServerMetadataResponse:
        return self._metadata

    @translate_errors
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: _Context
    ) -> pb.ModelMetadataResponse:
        return convert_models.metadata_to_pb(self._core.model_metadata(request.name, request.version))

    @translate_errors
    async def ModelInfer(self, request: pb.ModelInferRequest, context: _Context) -> pb.ModelInferResponse:
        return convert.response_to_pb(await self._infer(request, context))

    def _infer(self, request: pb.ModelInferRequest, context: _Context) -> Awaitable[InferResponse]:
        """The core's (or the guard's) coroutine for ``request``: returned, not awaited, to spare a frame."""
        if request.id:
            request_id_var.set(request.id)
        now = time.monotonic()
        remaining = context.time_remaining()
        deadline = None if remaining is None else now + remaining
        if self._guard is None:
            return self._core.infer(convert.request_from_pb(request, deadline, now))
        return self._guard.infer(
            request.model_name,
            request.id,
            lambda: convert.request_from_pb(request, deadline, now),
            self._core.infer,
        )

    async def ModelStreamInfer(
        self, request_iterator: AsyncIterator[pb.ModelInferRequest], context: _Context
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        """Runs the stream's requests concurrently (so they can batch together) and replies in completion
        order; a failed request gets an ``error_message`` reply and the stream stays open.
        """
        replies: asyncio.Queue[pb.ModelStreamInferResponse | None] = asyncio.Queue()
        running: set[asyncio.Task[None]] = set()

        async def answer(request: pb.ModelInferRequest) -> None:
            try:
                response = convert.response_to_pb(await self._infer(request, context))
                replies.put_nowait(pb.ModelStreamInferResponse(infer_response=response))
            except Exception as exc:
                _, message = status_for(exc)
                # The envelope has no id beside an error; name it so concurrent callers can match it.
                suffix = f" (request id {request.id})" if request.id else ""
                replies.put_nowait(pb.ModelStreamInferResponse(error_message=message + suffix))

        async def read() -> None:
            try:
                async for request in request_iterator:
                    task = asyncio.create_task(answer(request))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if running:
                    await asyncio.wait(set(running))
            finally:
                replies.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (reply := await replies.get()) is not None:
                yield reply
            await reader  # re-raises a failure to read the request stream
        finally:
            reader.cancel()
            for task in list(running):
                task.cancel()

    @translate_errors
    async def ModelConfig(self, request: pb.ModelConfigRequest, context: _Context) -> pb.ModelConfigResponse:
        config = self._core.model_config(request.name, request.version)
        return pb.ModelConfigResponse(config=convert_models.config_to_pb(config))

    @translate_errors
    async def ModelStatistics(
        self, request: pb.ModelStatisticsRequest, context: _Context
    ) -> pb.ModelStatisticsResponse:
        return convert_models.statistics_to_pb(self._core.model_statistics(request.name, request.version))

    @translate_errors
    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: _Context
    ) -> pb.RepositoryIndexResponse:
        return convert_models.index_to_pb(self._core.repository_index(ready_only=request.ready))

    @translate_errors
    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: _Context
    ) -> pb.RepositoryModelLoadResponse:
        if request.parameters:
            names = ", ".join(sorted(request.parameters))
            raise InvalidInput(
                f"RepositoryModelLoad: parameters ({names}) are not supported; the model is loaded from "
                "its folder and model.yaml"
            )
        await self._core.load_model(request.model_name)
        return pb.RepositoryModelLoadResponse()

    @translate_errors
    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: _Context
    ) -> pb.RepositoryModelUnloadResponse:
        await self._core.unload_model(request.model_name)
        return pb.RepositoryModelUnloadResponse()

    SystemSharedMemoryStatus = _unsupported("SystemSharedMemoryStatus", _NO_SHARED_MEMORY)
    SystemSharedMemoryRegister = _unsupported("SystemSharedMemoryRegister", _NO_SHARED_MEMORY)
    SystemSharedMemoryUnregister = _unsupported("SystemSharedMemoryUnregister", _NO_SHARED_MEMORY)
    CudaSharedMemoryStatus = _unsupported("CudaSharedMemoryStatus", _NO_SHARED_MEMORY)
    CudaSharedMemoryRegister = _unsupported("CudaSharedMemoryRegister", _NO_SHARED_MEMORY)
    CudaSharedMemoryUnregister = _unsupported("CudaSharedMemoryUnregister", _NO_SHARED_MEMORY)
    TraceSetting = _unsupported(
        "TraceSetting", "tracing is not supported; use the DEBUG access log and /metrics"
    )
    LogSettings = _unsupported(
        "LogSettings", "log settings are fixed at start-up; restart with another level"
    )
