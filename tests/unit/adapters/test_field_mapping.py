"""Record fields <-> tensors: name matching, columnar conversion, per-row rejections, output naming."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adapters.mapping import (
    FieldMapping,
    MappingConfigError,
    MappingOverride,
    decode_outputs,
    encode_inputs,
    normalise,
    resolve_mapping,
)
from gateway.errors import RuntimeFailure
from gateway.types import Tensor, TensorFields, TensorSpec
from tests.fakes import FakeModel
from tests.support.fake_models import CLASSIFIER


def mapping_for(model: FakeModel, override: MappingOverride | None = None, carry=()) -> FieldMapping:
    return resolve_mapping(model.metadata(), model.config(), override, carry)


def single_input_model(datatype: str, shape: tuple[int, ...] = (-1,)) -> FakeModel:
    return FakeModel(
        name="single",
        inputs=(TensorSpec("x", datatype, shape),),
        outputs=(TensorSpec("y", "FP32", (-1,)),),
    )


def encode(mapping: FieldMapping, columns: dict, first: int = 1):
    n = len(next(iter(columns.values())))
    return encode_inputs(mapping, columns, np.arange(first, first + n))


def test_normalise_treats_case_dash_and_underscore_alike():
    assert normalise("MEAN-RADIUS") == normalise("mean_radius") == normalise(" Mean_Radius ")


def test_cobol_field_names_feed_model_fields_in_model_yaml_order():
    mapping = mapping_for(CLASSIFIER)
    encoded = encode(mapping, {"MEAN-TEXTURE": np.array([10.0, 20.0]), "MEAN-RADIUS": np.array([1.0, 2.0])})

    (tensor,) = encoded.tensors
    assert tensor.name == "features" and tensor.datatype == "FP32"
    assert tensor.data.dtype == np.float32
    np.testing.assert_array_equal(tensor.data, [[1.0, 10.0], [2.0, 20.0]])
    assert encoded.rejections == ()


def test_numeric_text_columns_convert_without_rejections():
    encoded = encode(mapping_for(CLASSIFIER), {"mean_radius": ["1.5", " 2 "], "mean_texture": ["3", "4e1"]})

    np.testing.assert_array_equal(encoded.tensors[0].data, [[1.5, 3.0], [2.0, 40.0]])
    np.testing.assert_array_equal(encoded.indices, [0, 1])


def test_dotted_field_path_matches_on_its_last_segment():
    encoded = encode(
        mapping_for(CLASSIFIER),
        {"CLAIM.MEASURES.MEAN-RADIUS": [1.0], "CLAIM.MEASURES.MEAN-TEXTURE": [2.0]},
    )

    np.testing.assert_array_equal(encoded.tensors[0].data, [[1.0, 2.0]])


def test_bad_values_reject_only_their_rows_with_record_number_field_and_reason():
    columns = {
        "mean_radius": ["1", "abc", "", None, "nan", "2"],
        "mean_texture": [1.0, 2.0, 3.0, 4.0, 5.0, math.inf],
    }
    encoded = encode(mapping_for(CLASSIFIER), columns, first=101)

    reasons = {r.record_number: (r.field, r.reason) for _, r in encoded.rejections}
    assert reasons == {
        102: ("mean_radius", "not a number: 'abc'"),
        103: ("mean_radius", "missing value"),
        104: ("mean_radius", "missing value"),
        105: ("mean_radius", "NaN not allowed"),
        106: ("mean_texture", "not a finite number: inf"),
    }
    np.testing.assert_array_equal(encoded.indices, [0])
    np.testing.assert_array_equal(encoded.tensors[0].data, [[1.0, 1.0]])


def test_a_row_is_rejected_once_for_its_first_bad_field():
    encoded = encode(mapping_for(CLASSIFIER), {"mean_radius": ["x"], "mean_texture": ["y"]})

    assert [(r.field, r.reason) for _, r in encoded.rejections] == [("mean_radius", "not a number: 'x'")]


def test_field_absent_from_the_records_rejects_every_row_as_missing():
    encoded = encode(mapping_for(CLASSIFIER), {"mean_radius": [1.0, 2.0]})

    assert [(r.record_number, r.field, r.reason) for _, r in encoded.rejections] == [
        (1, "mean_texture", "missing field"),
        (2, "mean_texture", "missing field"),
    ]
    assert encoded.tensors[0].data.shape == (0, 2)


def test_allow_nan_lets_nan_and_missing_numbers_through():
    mapping = mapping_for(CLASSIFIER, MappingOverride(allow_nan=True))
    encoded = encode(mapping, {"mean_radius": [np.nan, None], "mean_texture": ["1", "nan"]})

    assert encoded.rejections == ()
    assert np.isnan(encoded.tensors[0].data[0, 0]) and np.isnan(encoded.tensors[0].data[1, 1])


def test_float_too_large_for_fp16_is_rejected_as_out_of_range():
    encoded = encode(mapping_for(single_input_model("FP16")), {"x": [1.0, 1e6]})

    assert [(r.record_number, r.reason) for _, r in encoded.rejections] == [
        (2, "out of range for FP16: 1000000.0")
    ]


def test_integer_inputs_accept_whole_numbers_and_reject_fractions_and_overflow():
    mapping = mapping_for(single_input_model("INT8"))
    encoded = encode(mapping, {"x": ["42", "4.0", "4.5", "300", 7]})

    np.testing.assert_array_equal(encoded.tensors[0].data, [42, 4, 7])
    assert encoded.tensors[0].data.dtype == np.int8
    assert [(r.record_number, r.reason) for _, r in encoded.rejections] == [
        (3, "not a whole number: '4.5'"),
        (4, "out of range for INT8: '300'"),
    ]


def test_integer_inputs_from_a_float_column_reject_fractions():
    encoded = encode(mapping_for(single_input_model("INT64")), {"x": np.array([1.0, 2.5, np.nan])})

    np.testing.assert_array_equal(encoded.tensors[0].data, [1])
    assert [r.reason for _, r in encoded.rejections] == ["not a whole number: 2.5", "missing value"]


def test_bool_inputs_read_common_spellings():
    encoded = encode(mapping_for(single_input_model("BOOL")), {"x": ["true", "N", 1, "maybe"]})

    np.testing.assert_array_equal(encoded.tensors[0].data, [True, False, True])
    assert [r.reason for _, r in encoded.rejections] == ["not a boolean: 'maybe'"]


def test_bytes_inputs_encode_text_as_utf8_and_reject_missing_values():
    encoded = encode(mapping_for(single_input_model("BYTES")), {"x": ["Zürich", b"raw", 12, None]})

    assert encoded.tensors[0].data.tolist() == ["Zürich".encode(), b"raw", b"12"]
    assert [(r.record_number, r.reason) for _, r in encoded.rejections] == [(4, "missing value")]


def test_single_field_input_of_shape_n_by_1_gets_a_column_axis():
    encoded = encode(mapping_for(single_input_model("FP32", (-1, 1))), {"X": [1.0, 2.0]})

    assert encoded.tensors[0].data.shape == (2, 1)


def test_model_without_model_yaml_reads_inputs_by_tensor_name_and_index():
    model = FakeModel(
        name="bare",
        inputs=(TensorSpec("v", "FP32", (-1, 3)), TensorSpec("w", "INT64", (-1,))),
        outputs=(TensorSpec("y", "FP32", (-1, 2)), TensorSpec("z", "FP32", (-1, 1))),
    )
    mapping = mapping_for(model)

    assert [p.fields for p in mapping.inputs] == [("v_0", "v_1", "v_2"), ("w",)]
    assert mapping.output_columns == ("y_0", "y_1", "z")


def test_input_with_dynamic_feature_axis_and_no_mapping_is_a_config_error_naming_the_model_and_input():
    model = single_input_model("FP32", (-1, -1))

    with pytest.raises(
        MappingConfigError, match=r"model 'single' input 'x' \(shape \[-1, -1\]\) has no field"
    ):
        mapping_for(model)


def test_field_list_that_does_not_fit_the_tensor_width_is_a_config_error():
    override = MappingOverride(inputs=(TensorFields("features", ("a", "b", "c")),))

    with pytest.raises(MappingConfigError, match=r"2 value.*mapped to 3 field"):
        mapping_for(CLASSIFIER, override)


def test_pipeline_override_replaces_the_model_yaml_fields_of_a_tensor():
    override = MappingOverride(
        inputs=(TensorFields("features", ("radius", "texture")),),
        outputs=(TensorFields("label", ("verdict",), columns=False),),
    )
    mapping = mapping_for(CLASSIFIER, override)

    assert mapping.inputs[0].fields == ("radius", "texture")
    assert mapping.output_columns == ("p_benign", "p_malignant", "verdict")


def test_override_naming_an_unknown_tensor_is_a_config_error_listing_the_real_ones():
    override = MappingOverride(inputs=(TensorFields("feats", ("a", "b")),))

    with pytest.raises(MappingConfigError, match=r"maps input 'feats'.*its inputs: features"):
        mapping_for(CLASSIFIER, override)


def test_check_fields_names_the_model_the_input_and_the_available_fields():
    mapping = mapping_for(CLASSIFIER)

    with pytest.raises(MappingConfigError) as caught:
        mapping.check_fields("classifier", ["MEAN-RADIUS", "CLAIM-ID"])

    message = str(caught.value)
    assert "'classifier'" in message and "'features'" in message and "mean_texture" in message
    assert "record fields: MEAN-RADIUS, CLAIM-ID" in message


def test_check_fields_accepts_records_that_have_every_field_under_any_spelling():
    mapping_for(CLASSIFIER, carry=["claim_id"]).check_fields(
        "classifier", ["MEAN-RADIUS", "Mean_Texture", "CLAIM-ID"]
    )


def test_carried_field_named_like_a_lineage_column_is_a_config_error():
    with pytest.raises(MappingConfigError, match="lineage column 'record_no'"):
        mapping_for(CLASSIFIER, carry=["RECORD-NO"])


def test_carried_field_colliding_with_an_output_field_is_a_config_error():
    with pytest.raises(MappingConfigError, match="collides"):
        mapping_for(CLASSIFIER, carry=["label"])


def test_two_record_fields_with_the_same_normalised_name_are_refused():
    with pytest.raises(MappingConfigError, match="same name"):
        encode(mapping_for(CLASSIFIER), {"mean-radius": [1.0], "MEAN_RADIUS": [1.0], "mean_texture": [1.0]})


def test_rows_per_call_never_exceed_the_model_batch_limit():
    mapping = mapping_for(CLASSIFIER)  # max_batch_size 8

    assert mapping.rows_per_call(None) == 8
    assert mapping.rows_per_call(3) == 3
    assert mapping.rows_per_call(100) == 8


def test_model_with_static_shapes_takes_one_record_per_call_filling_each_tensor_whole():
    model = FakeModel("tiny", (TensorSpec("x", "FP32", (3,)),), (TensorSpec("y", "FP32", (3,)),))
    mapping = mapping_for(model)
    encoded = encode(mapping, {"x_0": [1.0, 4.0], "x_1": [2.0, 5.0], "x_2": [3.0, 6.0]})

    assert mapping.rows_per_call(512) == 1
    (tensor,) = mapping.call_inputs(encoded.tensors, 1, 2)
    np.testing.assert_array_equal(tensor.data, [4.0, 5.0, 6.0])
    columns = decode_outputs(mapping, [Tensor("y", "FP32", np.array([8.0, 10.0, 12.0]))], 1)
    assert {name: column.tolist() for name, column in columns.items()} == {
        "y_0": [8.0],
        "y_1": [10.0],
        "y_2": [12.0],
    }


def test_model_mixing_batched_and_static_inputs_is_a_config_error():
    model = FakeModel(
        "mixed",
        (TensorSpec("a", "FP32", (-1, 2)), TensorSpec("b", "FP32", (4,))),
        (TensorSpec("y", "FP32", (-1,)),),
    )

    with pytest.raises(MappingConfigError, match="no row axis"):
        mapping_for(model)


def test_outputs_become_named_columns_per_model_yaml():
    mapping = mapping_for(CLASSIFIER)
    outputs = [
        Tensor("label", "INT64", np.array([0, 1])),
        Tensor("probabilities", "FP32", np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)),
    ]

    columns = decode_outputs(mapping, outputs, 2)

    assert list(columns) == ["p_benign", "p_malignant", "label"]
    np.testing.assert_array_equal(columns["p_malignant"], np.array([0.1, 0.8], dtype=np.float32))
    np.testing.assert_array_equal(columns["label"], [0, 1])


def test_bytes_outputs_come_back_as_text():
    model = FakeModel("t", (TensorSpec("x", "FP32", (-1,)),), (TensorSpec("name", "BYTES", (-1,)),))
    columns = decode_outputs(
        mapping_for(model), [Tensor("name", "BYTES", np.array([b"ok", b"\xff"], dtype=object))], 2
    )

    assert columns["name"].tolist() == ["ok", b"\xff"]


def test_response_missing_an_output_or_rows_is_a_runtime_failure():
    mapping = mapping_for(CLASSIFIER)
    probabilities = Tensor("probabilities", "FP32", np.zeros((2, 2), dtype=np.float32))

    with pytest.raises(RuntimeFailure, match="no output 'label'"):
        decode_outputs(mapping, [probabilities], 2)
    with pytest.raises(RuntimeFailure, match="expected 3 row"):
        decode_outputs(mapping, [probabilities, Tensor("label", "INT64", np.zeros(2, np.int64))], 3)
