"""gateway.convert: protobuf <-> gateway.types for inference calls, both directions."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gateway import convert
from gateway.datatypes import DATATYPES
from gateway.errors import InvalidInput
from gateway.types import InferRequest, InferResponse, Tensor
from protos import pb

FIXED = [d for d in DATATYPES if d.name != "BYTES"]


def _raw_request(name: str, datatype: str, shape: list[int], raw: bytes) -> pb.ModelInferRequest:
    return pb.ModelInferRequest(
        model_name="m",
        inputs=[pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape)],
        raw_input_contents=[raw],
    )


def _typed_request(name: str, datatype: str, shape: list[int], **contents: object) -> pb.ModelInferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name=name, datatype=datatype, shape=shape, contents=pb.InferTensorContents(**contents)
    )
    return pb.ModelInferRequest(model_name="m", inputs=[tensor])


@pytest.mark.parametrize("datatype", FIXED, ids=lambda d: d.name)
def test_raw_round_trip_preserves_values_for_every_fixed_size_datatype(datatype) -> None:
    data = (np.arange(6) % 2 == 1) if datatype.name == "BOOL" else np.arange(6).astype(datatype.numpy)
    data = data.reshape(2, 3)
    raw = convert.array_to_raw(data, datatype.name)
    back = convert.array_from_raw("x", datatype.name, [2, 3], raw)
    assert back.dtype == datatype.numpy
    np.testing.assert_array_equal(back, data)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
def test_fp32_raw_round_trip_holds_for_any_shape_including_0d(data: np.ndarray) -> None:
    back = convert.array_from_raw("x", "FP32", data.shape, convert.array_to_raw(data, "FP32"))
    assert back.shape == data.shape
    np.testing.assert_array_equal(back, data)


@given(st.lists(st.binary(max_size=20), max_size=8))
def test_bytes_raw_round_trip_keeps_each_element(items: list[bytes]) -> None:
    data = np.empty(len(items), dtype=object)
    data[:] = items
    raw = convert.array_to_raw(data, "BYTES")
    assert len(raw) == sum(4 + len(i) for i in items)
    assert list(convert.array_from_raw("s", "BYTES", [len(items)], raw)) == items


def test_bytes_output_encodes_str_elements_as_utf8_with_little_endian_length() -> None:
    data = np.array(["é", "ab"], dtype=object)
    assert convert.array_to_raw(data, "BYTES") == b"\x02\x00\x00\x00\xc3\xa9\x02\x00\x00\x00ab"


def test_raw_fixed_size_input_is_a_view_of_the_wire_bytes_not_a_copy() -> None:
    raw = np.arange(4, dtype=np.float32).tobytes()
    array = convert.array_from_raw("x", "FP32", [2, 2], raw)
    owner = array
    while isinstance(owner, np.ndarray):
        owner = owner.base
    assert owner is raw


def test_raw_bool_input_treats_any_nonzero_byte_as_true() -> None:
    array = convert.array_from_raw("flags", "BOOL", [3], b"\x00\x01\x07")
    assert array.tolist() == [False, True, True]


def test_raw_byte_count_mismatch_names_input_expected_and_got() -> None:
    with pytest.raises(InvalidInput) as caught:
        convert.request_from_pb(_raw_request("INPUT0", "FP32", [2, 4], b"\x00" * 12))
    assert str(caught.value) == "input 'INPUT0': expected 32 bytes for FP32 shape [2, 4], got 12"


def test_raw_bytes_with_truncated_element_is_rejected_with_offsets() -> None:
    raw = struct.pack("<I", 10) + b"abc"
    with pytest.raises(InvalidInput, match=r"input 's': BYTES element 0 declares 10 bytes at byte 4, got 3"):
        convert.array_from_raw("s", "BYTES", [1], raw)


def test_raw_bytes_element_count_must_match_shape() -> None:
    raw = struct.pack("<I", 1) + b"a"
    with pytest.raises(InvalidInput, match=r"input 's': expected 2 BYTES elements, got 1"):
        convert.array_from_raw("s", "BYTES", [2], raw)


def test_raw_entries_must_match_the_number_of_inputs() -> None:
    msg = _raw_request("a", "FP32", [1], b"\x00" * 4)
    msg.raw_input_contents.append(b"")
    with pytest.raises(InvalidInput, match=r"expected one entry per input \(1\), got 2"):
        convert.request_from_pb(msg)


def test_unknown_datatype_is_rejected_naming_the_input() -> None:
    with pytest.raises(InvalidInput, match=r"input 'a': unsupported datatype 'FP8'"):
        convert.request_from_pb(_raw_request("a", "FP8", [1], b"\x00"))


def test_negative_dimension_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"input 'a': shape \[-1, 2\] has a negative dimension"):
        convert.request_from_pb(_raw_request("a", "FP32", [-1, 2], b""))


@pytest.mark.parametrize(
    ("datatype", "field", "values", "dtype"),
    [
        ("FP32", "fp32_contents", [1.5, -2.0], np.float32),
        ("FP64", "fp64_contents", [1.5, -2.0], np.float64),
        ("INT8", "int_contents", [-128, 127], np.int8),
        ("INT32", "int_contents", [-5, 7], np.int32),
        ("INT64", "int64_contents", [-(2**40), 3], np.int64),
        ("UINT16", "uint_contents", [0, 65535], np.uint16),
        ("UINT64", "uint64_contents", [2**63, 1], np.uint64),
        ("BOOL", "bool_contents", [True, False], np.bool_),
    ],
)
def test_typed_contents_decode_to_the_declared_dtype(datatype, field, values, dtype) -> None:
    request = convert.request_from_pb(_typed_request("x", datatype, [2], **{field: values}))
    array = request.inputs[0].data
    assert array.dtype == np.dtype(dtype)
    assert array.tolist() == values


def test_typed_bytes_contents_decode_to_bytes_objects() -> None:
    request = convert.request_from_pb(_typed_request("s", "BYTES", [2, 1], bytes_contents=[b"a", b""]))
    assert request.inputs[0].data.shape == (2, 1)
    assert request.inputs[0].data.ravel().tolist() == [b"a", b""]


def test_typed_contents_in_the_wrong_field_name_the_expected_field() -> None:
    msg = _typed_request("x", "FP32", [2], int_contents=[1, 2])
    with pytest.raises(InvalidInput) as caught:
        convert.request_from_pb(msg)
    assert str(caught.value) == (
        "input 'x': expected 2 elements in contents.fp32_contents for FP32 shape [2], "
        "got contents.int_contents"
    )


def test_typed_contents_element_count_mismatch_names_expected_and_got() -> None:
    with pytest.raises(InvalidInput, match=r"expected 4 elements .* shape \[2, 2\], got 3 elements"):
        convert.request_from_pb(_typed_request("x", "FP32", [2, 2], fp32_contents=[1, 2, 3]))


def test_typed_contents_out_of_range_for_narrow_integer_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"input 'x': values must lie in \[-128, 127\] for INT8"):
        convert.request_from_pb(_typed_request("x", "INT8", [1], int_contents=[300]))


def test_fp16_must_travel_raw() -> None:
    with pytest.raises(InvalidInput, match=r"input 'h': FP16 data has no typed contents field; send it raw"):
        convert.request_from_pb(_typed_request("h", "FP16", [1]))


def test_typed_zero_d_tensor_holds_one_element() -> None:
    request = convert.request_from_pb(_typed_request("x", "FP32", [], fp32_contents=[3.0]))
    assert request.inputs[0].data.shape == ()
    assert float(request.inputs[0].data) == 3.0


def test_input_with_both_raw_and_typed_contents_is_rejected() -> None:
    msg = _raw_request("x", "FP32", [1], b"\x00" * 4)
    msg.inputs[0].contents.fp32_contents.append(1.0)
    with pytest.raises(InvalidInput, match="both raw and in contents"):
        convert.request_from_pb(msg)


def test_duplicate_input_names_are_rejected() -> None:
    msg = _raw_request("x", "FP32", [1], b"\x00" * 4)
    msg.inputs.append(msg.inputs[0])
    msg.raw_input_contents.append(b"\x00" * 4)
    with pytest.raises(InvalidInput, match="each input may appear once"):
        convert.request_from_pb(msg)


@pytest.mark.parametrize("parameter", ["shared_memory_region", "classification"])
def test_requested_output_features_we_do_not_offer_are_refused(parameter: str) -> None:
    msg = _raw_request("x", "FP32", [1], b"\x00" * 4)
    output = msg.outputs.add(name="y")
    output.parameters[parameter].string_param = "r"
    with pytest.raises(InvalidInput, match=f"requested output 'y': parameter '{parameter}'"):
        convert.request_from_pb(msg)


def test_request_keeps_id_requested_outputs_and_parameters() -> None:
    msg = _raw_request("x", "FP32", [1], b"\x00" * 4)
    msg.id = "abc"
    msg.outputs.add(name="y")
    msg.parameters["flag"].bool_param = True
    msg.parameters["n"].int64_param = 3
    request = convert.request_from_pb(msg)
    assert (request.id, request.outputs, request.parameters) == ("abc", ["y"], {"flag": True, "n": 3})


def test_no_requested_outputs_means_all_outputs() -> None:
    assert convert.request_from_pb(_raw_request("x", "FP32", [1], b"\x00" * 4)).outputs is None


def test_timeout_parameter_makes_the_deadline_earlier_but_never_later() -> None:
    msg = _raw_request("x", "FP32", [1], b"\x00" * 4)
    msg.parameters["timeout"].int64_param = 500_000  # microseconds
    assert convert.request_from_pb(msg, deadline=None, now=100.0).deadline == pytest.approx(100.5)
    assert convert.request_from_pb(msg, deadline=100.2, now=100.0).deadline == pytest.approx(100.2)
    assert convert.request_from_pb(msg, deadline=101.0, now=100.0).deadline == pytest.approx(100.5)


def test_response_outputs_are_raw_in_the_order_of_outputs_with_id_echoed() -> None:
    response = InferResponse(
        model_name="m",
        model_version="3",
        id="req-1",
        outputs=[
            Tensor("b", "INT64", np.array([[1, 2]], dtype=np.int64)),
            Tensor("a", "BYTES", np.array([b"x"], dtype=object)),
        ],
        model_sha256="f" * 64,
    )
    msg = convert.response_to_pb(response)
    assert (msg.model_name, msg.model_version, msg.id) == ("m", "3", "req-1")
    assert [(o.name, o.datatype, list(o.shape)) for o in msg.outputs] == [
        ("b", "INT64", [1, 2]),
        ("a", "BYTES", [1]),
    ]
    assert list(msg.raw_output_contents) == [struct.pack("<2q", 1, 2), b"\x01\x00\x00\x00x"]
    assert not any(o.HasField("contents") for o in msg.outputs)
    back = convert.response_from_pb(msg)
    assert back.model_sha256 == "f" * 64
    assert back.parameters == {}
    np.testing.assert_array_equal(back.outputs[0].data, response.outputs[0].data)


def test_request_to_pb_and_back_is_the_same_request() -> None:
    request = InferRequest(
        model_name="m",
        model_version="2",
        id="r",
        inputs=[Tensor("x", "FP16", np.ones((2, 2), dtype=np.float16))],
        outputs=["y"],
        parameters={"p": 1.5},
    )
    back = convert.request_from_pb(convert.request_to_pb(request))
    assert (back.model_name, back.model_version, back.id, back.outputs) == ("m", "2", "r", ["y"])
    assert back.parameters == {"p": 1.5}
    np.testing.assert_array_equal(back.inputs[0].data, request.inputs[0].data)
