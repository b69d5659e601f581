"""The operational surface: gRPC health, reflection, /metrics, message sizes, and ``bridgeway models``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.support.gateway_process import GatewayProcess
from tests.support.triton_calls import infer, metrics_text

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def channel(gateway: GatewayProcess) -> grpc.Channel:
    return grpc.insecure_channel(gateway.address)


@pytest.mark.parametrize(
    ("service", "status"),
    [
        ("", SERVING),
        ("add_sub", SERVING),
        ("add_sub/1", SERVING),
        ("corrupt", NOT_SERVING),
        ("corrupt/1", NOT_SERVING),
    ],
)
def test_health_reports_the_server_and_each_model(channel: grpc.Channel, service: str, status: int) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert reply.status == status


def test_health_of_an_unknown_service_is_not_found(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no_such_model"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_inference_and_health_services(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {"inference.GRPCInferenceService", "grpc.health.v1.Health"} <= services
    method = database.FindFileContainingSymbol("inference.GRPCInferenceService")
    assert method.package == "inference"


def test_metrics_expose_per_model_series(
    client: triton.InferenceServerClient, gateway: GatewayProcess
) -> None:
    x = np.ones((2, 2), np.float32)
    infer(client, "scratch", X=x)
    text = metrics_text(gateway.metrics_port)
    assert 'bridgeway_requests_total{model="scratch",outcome="success",version="1"}' in text
    assert 'bridgeway_request_duration_seconds_bucket{le="+Inf",model="scratch",version="1"}' in text
    assert 'bridgeway_request_queue_seconds_count{model="scratch",version="1"}' in text
    assert 'bridgeway_batch_size_count{model="scratch",version="1"}' in text
    assert 'bridgeway_requests_in_flight{model="scratch"} 0.0' in text
    assert 'bridgeway_model_state{model="scratch",state="READY",version="1"} 1.0' in text
    assert 'bridgeway_model_state{model="corrupt",state="UNAVAILABLE",version="1"} 1.0' in text


def test_failures_for_unknown_models_are_counted_without_new_series(
    client: triton.InferenceServerClient, gateway: GatewayProcess
) -> None:
    for name in ("typo_one", "typo_two"):
        with pytest.raises(triton.InferenceServerException):
            infer(client, name, X=np.ones(1, np.float32))
    text = metrics_text(gateway.metrics_port)
    assert "typo_one" not in text and "typo_two" not in text
    assert 'bridgeway_requests_total{model="_unknown",outcome="failure",version=""}' in text


def test_requests_far_above_grpc_default_4_mib_are_accepted(client: triton.InferenceServerClient) -> None:
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    big = np.repeat(x, 300_000, axis=0)  # 19.2 MB each way
    np.testing.assert_array_equal(infer(client, "scratch", X=big).as_numpy("Y"), big)


def _bridgeway(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from adapters.cli import main; main(prog_name='bridgeway')", *args]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_models_list_shows_versions_states_and_signatures(zoo_dir: Path) -> None:
    done = _bridgeway("models", "list", "--models", str(zoo_dir))
    assert done.returncode == 0, done.stderr
    lines = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 4}
    assert "READY" in lines["add_sub"] and "INPUT0 FP32 [-1, 4]" in lines["add_sub"]
    assert "UNAVAILABLE" in lines["corrupt"] and "Protobuf parsing failed" in lines["corrupt"]
    assert "X FP32 []" in lines["scalar"]


def test_models_inspect_shows_signature_field_mapping_and_batching(zoo_dir: Path) -> None:
    done = _bridgeway("models", "inspect", "add_sub", "--models", str(zoo_dir))
    assert done.returncode == 0, done.stderr
    assert "Element-wise sum and difference" in done.stdout
    assert "a0, a1, a2, a3" in done.stdout
    assert "max_batch_size 64, max_queue_delay_us 2000, preferred sizes 16, 32" in done.stdout
    assert "OUTPUT1" in done.stdout and "[-1, 4]" in done.stdout


def test_models_inspect_of_a_broken_model_shows_the_reason_and_exits_1(zoo_dir: Path) -> None:
    done = _bridgeway("models", "inspect", "corrupt", "--models", str(zoo_dir))
    assert done.returncode == 1
    assert "UNAVAILABLE" in done.stdout and "Protobuf parsing failed" in done.stdout
