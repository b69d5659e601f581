"""The onnxruntime boundary: signatures, thread options, BYTES conversion and error translation."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from gateway_testkit import (
    CORRUPT,
    add_model,
    fixed_model,
    matmul_model,
    scalar_model,
    sequence_output_model,
    string_model,
    unsupported_op_model,
    width_mismatch_model,
    write_model,
)

from gateway.errors import InvalidInput, ModelLoadFailed
from gateway.runtime import OnnxSession, SessionConfig, choose_providers, from_ort_strings, to_ort_strings
from gateway.types import TensorSpec


def load(repo: Path, data: bytes, config: SessionConfig | None = None) -> OnnxSession:
    path = write_model(repo, "m", 1, data)
    return OnnxSession.load(path, config or SessionConfig(), "m/1")


def test_signature_comes_from_the_graph_with_dynamic_dims_as_minus_one(repo: Path) -> None:
    adder = load(repo, add_model())
    assert adder.inputs == (TensorSpec("a", "FP32", (-1, 4)), TensorSpec("b", "FP32", (-1, 4)))
    assert adder.outputs == (TensorSpec("sum", "FP32", (-1, 4)), TensorSpec("diff", "FP32", (-1, 4)))
    assert load(repo, matmul_model()).inputs == (TensorSpec("features", "FP32", (-1, 30)),)
    assert load(repo, fixed_model()).inputs == (TensorSpec("x", "FP32", (2, 3)),)
    assert load(repo, scalar_model()).outputs == (TensorSpec("y", "FP32", ()),)
    assert load(repo, string_model()).inputs == (TensorSpec("text", "BYTES", (-1,)),)


def test_session_gets_its_thread_share_and_no_spinning(repo: Path) -> None:
    session = load(repo, add_model(), SessionConfig(intra_op_threads=1, inter_op_threads=1))
    options = session._session.get_session_options()  # reach in: onnxruntime is the thing under test
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    spinning = load(repo, add_model(), SessionConfig(allow_spinning=True))
    assert (
        spinning._session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        == "1"
    )


def test_a_missing_accelerator_falls_back_to_the_cpu_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.runtime"):
        chosen = choose_providers(["NoSuchExecutionProvider", "CPUExecutionProvider"])
    assert chosen == ("CPUExecutionProvider",)
    assert "NoSuchExecutionProvider" in caplog.text


def test_a_corrupt_file_fails_to_load_with_the_reason_and_no_machine_path(repo: Path) -> None:
    with pytest.raises(ModelLoadFailed) as info:
        load(repo, CORRUPT)
    message = str(info.value)
    assert message.startswith("model m/1 failed to load: ")
    assert "Protobuf parsing failed" in message
    assert str(repo) not in message
    assert "Traceback" not in message
    assert type(info.value.__cause__).__module__.startswith("onnxruntime")


def test_an_unsupported_operator_fails_to_load_naming_it(repo: Path) -> None:
    with pytest.raises(ModelLoadFailed, match="NoSuchOperator"):
        load(repo, unsupported_op_model())


def test_a_type_the_protocol_cannot_carry_fails_to_load(repo: Path) -> None:
    with pytest.raises(ModelLoadFailed, match=r"output 'parts' has type seq\(tensor\(float\)\)"):
        load(repo, sequence_output_model())


def test_onnxruntime_invalid_argument_becomes_invalid_input(repo: Path) -> None:
    session = load(repo, add_model())
    wrong = np.zeros((1, 4), np.float64)
    with pytest.raises(InvalidInput) as info:
        session.run({"a": wrong, "b": wrong})
    assert str(info.value).startswith("model m/1 rejected the input: ")
    assert "[ONNXRuntimeError]" not in str(info.value)
    assert info.value.__cause__ is not None


def test_runs_return_requested_outputs_in_the_requested_order(repo: Path) -> None:
    session = load(repo, add_model(offset=1.0))
    a = np.full((2, 4), 3, np.float32)
    b = np.ones((2, 4), np.float32)
    diff, total = session.run({"a": a, "b": b}, ["diff", "sum"])
    assert (diff == 2).all()
    assert (total == 5).all()


def test_bytes_tensors_go_in_as_text_and_come_back_as_bytes(repo: Path) -> None:
    session = load(repo, string_model())
    text = np.array([b"caf\xc3\xa9", b"", b"x"], dtype=object)
    (same,) = session.run({"text": to_ort_strings(text)})
    assert same.dtype == object
    assert list(same) == [b"caf\xc3\xa9", b"", b"x"]


def test_string_conversion_refuses_bytes_that_are_not_utf8_and_keeps_shapes() -> None:
    with pytest.raises(UnicodeDecodeError):
        to_ort_strings(np.array([b"\xff"], dtype=object))
    grid = to_ort_strings(np.array([[b"a", "b"], [b"c", b"d"]], dtype=object))
    assert grid.shape == (2, 2)
    assert grid[0, 1] == "b"
    assert from_ort_strings(np.array([["x"]], dtype=object))[0, 0] == b"x"


def test_warm_up_runs_on_zeros_and_a_model_that_cannot_run_never_warms_up(repo: Path) -> None:
    assert load(repo, add_model()).warm_up(runs=2, batch_size=3) >= 0
    assert load(repo, string_model()).warm_up() >= 0
    assert load(repo, scalar_model()).warm_up() >= 0
    with pytest.raises(ModelLoadFailed, match="failed its warm-up run"):
        load(repo, width_mismatch_model()).warm_up()
