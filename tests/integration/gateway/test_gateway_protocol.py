"""The Open Inference Protocol as tritonclient sees it: readiness, metadata, every datatype, raw and typed."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests.support.gateway_process import GatewayProcess
from tests.support.triton_calls import failure, infer, inputs_for


@pytest.fixture(scope="module")
def stub(gateway: GatewayProcess) -> service_pb2_grpc.GRPCInferenceServiceStub:
    channel = grpc.insecure_channel(gateway.address)
    return service_pb2_grpc.GRPCInferenceServiceStub(channel)


def test_server_is_live_and_ready_even_with_a_broken_model(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("add_sub")
    assert not client.is_model_ready("corrupt")


def test_server_metadata_names_bridgeway_and_its_extensions(client: triton.InferenceServerClient) -> None:
    metadata = client.get_server_metadata()
    assert metadata.name == "bridgeway"
    assert metadata.version
    assert "model_repository" in metadata.extensions


@pytest.mark.parametrize("model", ["add_sub", "identity_bytes", "double_fp16", "not_bool", "scalar", "fixed"])
def test_model_metadata_matches_the_onnx_graph(
    client: triton.InferenceServerClient, zoo_dir: Path, model: str
) -> None:
    session = ort.InferenceSession(str(zoo_dir / model / "1" / "model.onnx"))
    onnx_names = {
        "tensor(float)": "FP32",
        "tensor(float16)": "FP16",
        "tensor(string)": "BYTES",
        "tensor(bool)": "BOOL",
    }

    def expected(args: list) -> list:
        return [
            (a.name, onnx_names[a.type], [d if isinstance(d, int) else -1 for d in a.shape]) for a in args
        ]

    metadata = client.get_model_metadata(model)
    assert (metadata.name, metadata.platform, list(metadata.versions)) == (model, "onnxruntime_onnx", ["1"])
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs] == expected(session.get_inputs())
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.outputs] == expected(session.get_outputs())


def test_fp32_raw_inputs_give_sum_and_difference(client: triton.InferenceServerClient) -> None:
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    b = np.full((2, 4), 0.5, dtype=np.float32)
    result = infer(client, "add_sub", INPUT0=a, INPUT1=b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)
    assert result.get_response().model_version == "1"


def test_requested_output_subset_returns_only_that_output(client: triton.InferenceServerClient) -> None:
    a = np.ones((1, 4), dtype=np.float32)
    outputs = [triton.InferRequestedOutput("OUTPUT1")]
    result = client.infer("add_sub", inputs_for(INPUT0=a, INPUT1=a), outputs=outputs)
    assert [o.name for o in result.get_response().outputs] == ["OUTPUT1"]
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), np.zeros((1, 4), np.float32))
    assert result.as_numpy("OUTPUT0") is None


def test_request_id_is_echoed(client: triton.InferenceServerClient) -> None:
    a = np.ones((1, 4), dtype=np.float32)
    result = client.infer("add_sub", inputs_for(INPUT0=a, INPUT1=a), request_id="claim-42")
    assert result.get_response().id == "claim-42"


def test_bytes_tensors_round_trip_including_empty_and_non_ascii_elements(
    client: triton.InferenceServerClient,
) -> None:
    data = np.array([[b"hello"], [b""], [b"tab\tnul\x00"], ["caf\u00e9".encode()]], dtype=object)
    result = infer(client, "identity_bytes", X=data)
    assert result.as_numpy("Y").tolist() == data.tolist()


def test_fp16_travels_raw_both_ways(client: triton.InferenceServerClient) -> None:
    x = np.array([[0.5, -1.25, 3.0]], dtype=np.float16)
    y = infer(client, "double_fp16", X=x).as_numpy("Y")
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, x * 2)


def test_bool_tensors_are_one_byte_per_element(client: triton.InferenceServerClient) -> None:
    x = np.array([[True, False], [False, False]])
    np.testing.assert_array_equal(infer(client, "not_bool", X=x).as_numpy("Y"), ~x)


def test_zero_d_tensor_in_and_out(client: triton.InferenceServerClient) -> None:
    y = infer(client, "scalar", X=np.array(2.5, dtype=np.float32)).as_numpy("Y")
    assert y.shape == ()
    assert float(y) == 7.5


def test_fixed_shape_model_is_served_unbatched_with_exact_dims(client: triton.InferenceServerClient) -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(infer(client, "fixed", X=x).as_numpy("Y"), [3.0, 12.0])
    config = client.get_model_config("fixed").config
    assert config.max_batch_size == 0
    assert not config.HasField("dynamic_batching")
    assert [list(i.dims) for i in config.input] == [[2, 3]]


def _typed_request(model: str, **contents: tuple[str, list[int], dict]) -> service_pb2.ModelInferRequest:
    request = service_pb2.ModelInferRequest(model_name=model, id="typed")
    for name, (datatype, shape, values) in contents.items():
        tensor = request.inputs.add(name=name, datatype=datatype, shape=shape)
        tensor.contents.CopyFrom(service_pb2.InferTensorContents(**values))
    return request


def test_typed_fp32_contents_are_accepted_and_outputs_come_back_raw(stub) -> None:
    request = _typed_request(
        "add_sub",
        INPUT0=("FP32", [1, 4], {"fp32_contents": [1, 2, 3, 4]}),
        INPUT1=("FP32", [1, 4], {"fp32_contents": [1, 1, 1, 1]}),
    )
    response = stub.ModelInfer(request)
    assert response.id == "typed"
    assert len(response.raw_output_contents) == len(response.outputs) == 2
    by_name = {
        o.name: np.frombuffer(raw, "<f4")
        for o, raw in zip(response.outputs, response.raw_output_contents, strict=True)
    }
    np.testing.assert_array_equal(by_name["OUTPUT0"], [2, 3, 4, 5])
    np.testing.assert_array_equal(by_name["OUTPUT1"], [0, 1, 2, 3])


def test_typed_bytes_and_bool_contents_are_accepted(stub) -> None:
    strings = stub.ModelInfer(
        _typed_request("identity_bytes", X=("BYTES", [2, 1], {"bytes_contents": [b"a", b"bc"]}))
    )
    assert strings.raw_output_contents[0] == b"\x01\x00\x00\x00a\x02\x00\x00\x00bc"
    flags = stub.ModelInfer(_typed_request("not_bool", X=("BOOL", [1, 2], {"bool_contents": [True, False]})))
    assert flags.raw_output_contents[0] == b"\x00\x01"


def test_typed_zero_d_contents_are_accepted(stub) -> None:
    response = stub.ModelInfer(_typed_request("scalar", X=("FP32", [], {"fp32_contents": [2.0]})))
    assert list(response.outputs[0].shape) == []
    assert np.frombuffer(response.raw_output_contents[0], "<f4").tolist() == [6.0]


def test_model_config_is_the_triton_subset_with_batching_and_field_mapping(
    client: triton.InferenceServerClient,
) -> None:
    config = client.get_model_config("add_sub").config
    assert (config.name, config.platform, config.max_batch_size) == ("add_sub", "onnxruntime_onnx", 64)
    assert [
        (i.name, triton.model_config_pb2.DataType.Name(i.data_type), list(i.dims)) for i in config.input
    ] == [
        ("INPUT0", "TYPE_FP32", [4]),
        ("INPUT1", "TYPE_FP32", [4]),
    ]
    assert list(config.dynamic_batching.preferred_batch_size) == [16, 32]
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000
    assert "a0" in config.parameters["bridgeway.input_fields"].string_value


def test_model_statistics_count_successful_inferences(client: triton.InferenceServerClient) -> None:
    def success_count() -> int:
        (stats,) = client.get_inference_statistics("not_bool").model_stats
        return stats.inference_stats.success.count

    before = success_count()
    for _ in range(3):
        infer(client, "not_bool", X=np.array([[True, True]]))
    (stats,) = client.get_inference_statistics("not_bool").model_stats
    assert stats.version == "1"
    assert success_count() == before + 3
    assert stats.last_inference > 0
    all_models = {s.name for s in client.get_inference_statistics().model_stats}
    assert {"add_sub", "not_bool"} <= all_models


def test_repository_index_lists_every_model_and_the_failed_ones_reason(
    client: triton.InferenceServerClient,
) -> None:
    index = {m.name: m for m in client.get_model_repository_index().models}
    assert index["add_sub"].state == "READY"
    assert index["corrupt"].state == "UNAVAILABLE"
    assert "Protobuf parsing failed" in index["corrupt"].reason or "ONNX" in index["corrupt"].reason
    assert "Traceback" not in index["corrupt"].reason


@pytest.mark.parametrize(
    ("rpc", "request_type"),
    [
        ("SystemSharedMemoryStatus", service_pb2.SystemSharedMemoryStatusRequest),
        ("CudaSharedMemoryRegister", service_pb2.CudaSharedMemoryRegisterRequest),
        ("TraceSetting", service_pb2.TraceSettingRequest),
        ("LogSettings", service_pb2.LogSettingsRequest),
    ],
)
def test_protocol_features_we_do_not_offer_answer_unimplemented_with_a_reason(
    stub, rpc: str, request_type
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, rpc)(request_type())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details().startswith(f"{rpc}: ")
    assert "not supported" in caught.value.details() or "fixed at start-up" in caught.value.details()


def test_client_side_shared_memory_request_is_refused_clearly(client: triton.InferenceServerClient) -> None:
    code, message = failure(lambda: client.get_system_shared_memory_status())
    assert code == "UNIMPLEMENTED"
    assert "send tensor data in the request" in message
