"""Every status code of the design's table, as tritonclient receives it, and never a traceback."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests.support.gateway_process import GatewayProcess
from tests.support.onnx_zoo import SLOW_ITERATIONS_PER_SECOND
from tests.support.triton_calls import failure, infer, inputs_for, wait_until_in_flight

FOUR = np.ones((1, 4), dtype=np.float32)


def slow_inputs(seconds: float) -> list[triton.InferInput]:
    n = np.array([int(seconds * SLOW_ITERATIONS_PER_SECOND)], dtype=np.int64)
    return inputs_for(n=n, x=np.zeros(1, dtype=np.float32))


def test_unknown_model_is_not_found(client: triton.InferenceServerClient) -> None:
    code, message = failure(lambda: infer(client, "no_such_model", INPUT0=FOUR))
    assert (code, message) == ("NOT_FOUND", "unknown model 'no_such_model'")


def test_unknown_version_is_not_found_and_lists_the_versions(client: triton.InferenceServerClient) -> None:
    code, message = failure(
        lambda: client.infer("add_sub", inputs_for(INPUT0=FOUR, INPUT1=FOUR), model_version="7")
    )
    assert code == "NOT_FOUND"
    assert "version '7'" in message and "1" in message


def test_metadata_of_unknown_model_is_not_found(client: triton.InferenceServerClient) -> None:
    assert failure(lambda: client.get_model_metadata("no_such_model"))[0] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"INPUT0": FOUR, "WRONG": FOUR}, "unknown input 'WRONG'"),
        (
            {"INPUT0": FOUR, "INPUT1": FOUR.astype(np.int32)},
            "input 'INPUT1': expected datatype FP32, got INT32",
        ),
        (
            {"INPUT0": FOUR, "INPUT1": np.ones((1, 5), np.float32)},
            "input 'INPUT1': expected shape [-1, 4], got [1, 5]",
        ),
        ({"INPUT0": FOUR}, "missing input 'INPUT1'"),
    ],
    ids=["name", "datatype", "shape", "missing"],
)
def test_wrong_input_is_invalid_argument_naming_input_expected_and_got(
    client: triton.InferenceServerClient, arrays: dict, expected: str
) -> None:
    code, message = failure(lambda: infer(client, "add_sub", **arrays))
    assert code == "INVALID_ARGUMENT"
    assert expected in message


def test_unknown_requested_output_is_invalid_argument(client: triton.InferenceServerClient) -> None:
    outputs = [triton.InferRequestedOutput("NOPE")]
    code, message = failure(
        lambda: client.infer("add_sub", inputs_for(INPUT0=FOUR, INPUT1=FOUR), outputs=outputs)
    )
    assert code == "INVALID_ARGUMENT"
    assert "unknown output 'NOPE'" in message


def test_wrong_raw_byte_count_is_invalid_argument_naming_input_expected_and_got(
    gateway: GatewayProcess,
) -> None:
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(gateway.address))
    request = service_pb2.ModelInferRequest(model_name="add_sub")
    request.inputs.add(name="INPUT0", datatype="FP32", shape=[1, 4])
    request.inputs.add(name="INPUT1", datatype="FP32", shape=[1, 4])
    request.raw_input_contents.extend([FOUR.tobytes(), b"\x00" * 10])
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "input 'INPUT1': expected 16 bytes for FP32 shape [1, 4], got 10"


def test_non_utf8_bytes_for_a_string_model_is_invalid_argument(client: triton.InferenceServerClient) -> None:
    code, message = failure(lambda: infer(client, "identity_bytes", X=np.array([[b"\xff"]], dtype=object)))
    assert code == "INVALID_ARGUMENT"
    assert "input 'X'" in message and "UTF-8" in message


def test_corrupt_model_is_failed_precondition_with_its_load_error(
    client: triton.InferenceServerClient,
) -> None:
    code, message = failure(lambda: infer(client, "corrupt", X=FOUR))
    assert code == "FAILED_PRECONDITION"
    assert "corrupt" in message
    assert failure(lambda: client.get_model_metadata("corrupt"))[0] == "FAILED_PRECONDITION"


def test_full_queue_is_resource_exhausted_and_admitted_requests_still_succeed(
    client: triton.InferenceServerClient,
) -> None:
    # slow_queue runs one request at a time and queues one more; the rest are refused at once.
    def call() -> tuple[str, str]:
        try:
            client.infer("slow_queue", slow_inputs(0.5))
        except triton.InferenceServerException as exc:
            return str(exc.status()).removeprefix("StatusCode."), str(exc.message())
        return "OK", ""

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda _: call(), range(6)))
    codes = [code for code, _ in outcomes]
    assert codes.count("RESOURCE_EXHAUSTED") >= 1, outcomes
    assert codes.count("OK") >= 1, outcomes
    assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, outcomes
    assert all("queue is full" in message for code, message in outcomes if code == "RESOURCE_EXHAUSTED")


def test_requests_whose_deadline_passes_while_queued_are_not_run(
    client: triton.InferenceServerClient, gateway: GatewayProcess
) -> None:
    def executions() -> int:
        (stats,) = client.get_inference_statistics("slow").model_stats
        return stats.execution_count

    before = executions()
    blocker = threading.Thread(target=lambda: client.infer("slow", slow_inputs(1.0)))
    blocker.start()
    wait_until_in_flight(gateway.metrics_port, "slow", 1)
    # The protocol's own per-request timeout (microseconds): the server decides, and says so.
    server_side = failure(lambda: client.infer("slow", slow_inputs(0.0), timeout=100_000))
    # A gRPC deadline: the server reads it from the call and drops the request once it passes.
    grpc_deadline = failure(lambda: client.infer("slow", slow_inputs(0.0), client_timeout=0.2))
    blocker.join()
    assert server_side[0] == "DEADLINE_EXCEEDED"
    assert "deadline passed while queued" in server_side[1]
    assert grpc_deadline[0] == "DEADLINE_EXCEEDED"
    assert executions() == before + 1  # only the blocker ran


def test_unloaded_model_is_unavailable_until_loaded_again(client: triton.InferenceServerClient) -> None:
    x = np.ones((1, 2), dtype=np.float32)
    client.unload_model("scratch")
    try:
        assert not client.is_model_ready("scratch")
        code, message = failure(lambda: infer(client, "scratch", X=x))
        assert code == "UNAVAILABLE"
        assert "scratch" in message
    finally:
        client.load_model("scratch")
    assert client.is_model_ready("scratch")
    np.testing.assert_array_equal(infer(client, "scratch", X=x).as_numpy("Y"), x)


def test_loading_a_model_that_does_not_exist_is_not_found(client: triton.InferenceServerClient) -> None:
    assert failure(lambda: client.load_model("no_such_model"))[0] == "NOT_FOUND"


def test_load_with_config_override_is_refused_clearly(client: triton.InferenceServerClient) -> None:
    code, message = failure(lambda: client.load_model("scratch", config='{"max_batch_size": 2}'))
    assert code == "INVALID_ARGUMENT"
    assert "parameters (config) are not supported" in message


def test_no_status_message_or_index_reason_carries_a_traceback(
    client: triton.InferenceServerClient, gateway: GatewayProcess
) -> None:
    messages = [
        failure(lambda: infer(client, "corrupt", X=FOUR))[1],
        failure(lambda: infer(client, "add_sub", INPUT0=FOUR))[1],
        failure(lambda: infer(client, "nope", INPUT0=FOUR))[1],
        *(m.reason for m in client.get_model_repository_index().models),
    ]
    assert not [m for m in messages if "Traceback" in m or 'File "' in m]
    assert not [e for e in gateway.log_lines if e.get("event") == "unexpected error"]
