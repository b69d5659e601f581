"""gateway.server in-process: ``running_gateway`` serves on free ports and drains when the block ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway import convert
from gateway.config import ServerSettings
from gateway.server import running_gateway
from gateway.types import InferRequest, Tensor
from protos import pb, pb_grpc
from tests.support.onnx_zoo import build_repository


def test_running_gateway_serves_on_port_0_and_stops_on_exit(tmp_path: Path) -> None:
    settings = ServerSettings(models_dir=build_repository(tmp_path), port=0, metrics_port=0, drain_grace_s=1)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    request = InferRequest(
        "add_sub", [Tensor("INPUT0", "FP32", x), Tensor("INPUT1", "FP32", x)], id="in-proc"
    )

    async def scenario() -> tuple[bool, object, int, bool]:
        async with running_gateway(settings) as gateway:
            assert gateway.port > 0 and gateway.metrics_port > 0
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)
                ready = (await stub.ServerReady(pb.ServerReadyRequest())).ready
                reply = await stub.ModelInfer(convert.request_to_pb(request))
                health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        return ready, convert.response_from_pb(reply), health.status, gateway.core.server_live()

    ready, response, health, live_after = asyncio.run(scenario())
    assert ready
    assert response.id == "in-proc"
    np.testing.assert_array_equal(response.outputs[0].data, x + x)
    assert response.model_sha256  # lineage travels as a response parameter
    assert health == health_pb2.HealthCheckResponse.SERVING
    assert not live_after
