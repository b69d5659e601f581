"""Request validation: every rejection names the input, what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.errors import InvalidInput
from gateway.types import InferRequest, Tensor, TensorSpec
from gateway.validation import RequestValidator

FEATURES = TensorSpec("features", "FP32", (-1, 30))
MASK = TensorSpec("mask", "BOOL", (-1, 30))
SCORES = TensorSpec("scores", "FP32", (-1, 2))
LABEL = TensorSpec("label", "INT64", (-1,))


def validator(batched: bool = True) -> RequestValidator:
    return RequestValidator((FEATURES, MASK), (SCORES, LABEL), batched=batched)


def request(*tensors: Tensor, outputs: list[str] | None = None) -> InferRequest:
    return InferRequest("m", list(tensors), outputs=outputs)


def features(rows: int = 4, cols: int = 30, dtype: type = np.float32) -> Tensor:
    return Tensor("features", "FP32", np.zeros((rows, cols), dtype))


def mask(rows: int = 4) -> Tensor:
    return Tensor("mask", "BOOL", np.zeros((rows, 30), np.bool_))


def rejected(v: RequestValidator, req: InferRequest) -> str:
    with pytest.raises(InvalidInput) as info:
        v.validate(req)
    return str(info.value)


def test_a_valid_request_yields_feeds_rows_and_a_merge_key() -> None:
    feeds, rows, key, outputs = validator().validate(request(mask(), features()))
    assert set(feeds) == {"features", "mask"}
    assert rows == 4
    assert key == ((30,), (30,))
    assert outputs is None


def test_wrong_shape_names_the_input_expected_and_got() -> None:
    message = rejected(validator(), request(features(4, 29), mask()))
    assert message == "input 'features': expected shape [-1, 30], got [4, 29]"


def test_wrong_rank_is_a_shape_error() -> None:
    message = rejected(validator(), request(Tensor("features", "FP32", np.zeros(30, np.float32)), mask()))
    assert message == "input 'features': expected shape [-1, 30], got [30]"


def test_wrong_datatype_names_both_datatypes() -> None:
    tensor = Tensor("features", "FP64", np.zeros((4, 30), np.float64))
    assert (
        rejected(validator(), request(tensor, mask())) == "input 'features': expected datatype FP32, got FP64"
    )


def test_data_that_does_not_match_its_declared_datatype_is_refused() -> None:
    tensor = Tensor("features", "FP32", np.zeros((4, 30), np.float64))
    message = rejected(validator(), request(tensor, mask()))
    assert message == "input 'features': FP32 tensor must hold float32 data, got float64"


def test_unknown_input_lists_the_model_inputs() -> None:
    message = rejected(
        validator(), request(features(), mask(), Tensor("extra", "FP32", np.zeros(1, np.float32)))
    )
    assert message == "unknown input 'extra': the model's inputs are 'features', 'mask'"


def test_missing_input_says_what_was_expected() -> None:
    message = rejected(validator(), request(features()))
    assert message.startswith("missing input 'mask' (expected BOOL [-1, 30])")


def test_duplicate_input_is_refused() -> None:
    assert "given more than once" in rejected(validator(), request(features(), features(), mask()))


def test_unknown_requested_output_lists_the_model_outputs() -> None:
    message = rejected(validator(), request(features(), mask(), outputs=["label", "proba"]))
    assert message == "unknown output 'proba': the model's outputs are 'scores', 'label'"


def test_requested_outputs_are_kept_in_the_callers_order() -> None:
    *_, outputs = validator().validate(request(features(), mask(), outputs=["label", "scores"]))
    assert outputs == ["label", "scores"]


def test_inputs_that_disagree_on_batch_rows_are_never_merged() -> None:
    _, rows, key, _ = validator().validate(request(features(4), mask(5)))
    assert rows == 4
    assert key is None


def test_unbatched_models_count_one_row_per_request_and_never_merge() -> None:
    _, rows, key, _ = validator(batched=False).validate(request(features(4), mask(4)))
    assert (rows, key) == (1, None)


def test_bytes_inputs_must_be_utf8_text() -> None:
    v = RequestValidator((TensorSpec("text", "BYTES", (-1,)),), (TensorSpec("same", "BYTES", (-1,)),), True)
    feeds, *_ = v.validate(request(Tensor("text", "BYTES", np.array([b"ok", "fine"], dtype=object))))
    assert list(feeds["text"]) == ["ok", "fine"]
    message = rejected(v, request(Tensor("text", "BYTES", np.array([b"\xff"], dtype=object))))
    assert message.startswith("input 'text': BYTES elements must be UTF-8 text")


def test_zero_dimensional_inputs_validate_against_a_scalar_signature() -> None:
    v = RequestValidator((TensorSpec("x", "FP32", ()),), (TensorSpec("y", "FP32", ()),), batched=False)
    feeds, *_ = v.validate(request(Tensor("x", "FP32", np.array(2.0, np.float32))))
    assert feeds["x"].shape == ()
    message = rejected(v, request(Tensor("x", "FP32", np.zeros(1, np.float32))))
    assert message == "input 'x': expected shape [], got [1]"
