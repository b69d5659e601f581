"""A model nobody on this team wrote, fetched with pip in set-up, loads and scores in onnxruntime."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.support.foreign_model import (
    INPUT_NAME,
    INPUT_WIDTH,
    MODEL_NAME,
    OUTPUT_NAME,
    OUTPUT_WIDTH,
    WHEEL,
    ForeignModelUnavailable,
    cache_dir,
    fetch_foreign_model,
)
from tests.support.models import open_session


@pytest.fixture(scope="module")
def foreign_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return fetch_foreign_model(tmp_path_factory.mktemp("foreign"))
    except ForeignModelUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the foreign test model is required in CI: {exc}")
        pytest.skip(f"foreign test model unavailable (no package registry?): {exc}")


def test_foreign_model_is_laid_out_as_one_version_without_model_yaml(foreign_repository: Path) -> None:
    folder = foreign_repository / MODEL_NAME
    assert sorted(p.name for p in folder.iterdir()) == ["1"]
    assert (folder / "1" / "model.onnx").stat().st_size > 100_000


def test_foreign_model_was_written_by_another_toolchain(foreign_repository: Path) -> None:
    model = onnx.load(foreign_repository / MODEL_NAME / "1" / "model.onnx")
    assert model.producer_name not in ("skl2onnx", "bridgeway-models")


def test_foreign_model_loads_with_a_batchable_input_and_output(foreign_repository: Path) -> None:
    session = open_session(foreign_repository / MODEL_NAME / "1" / "model.onnx")
    inputs = [(arg.name, arg.type, arg.shape) for arg in session.get_inputs()]
    outputs = [(arg.name, arg.type, arg.shape) for arg in session.get_outputs()]
    assert len(inputs) == len(outputs) == 1
    (name, kind, shape), (out_name, out_kind, out_shape) = inputs[0], outputs[0]
    assert (name, kind, shape[1]) == (INPUT_NAME, "tensor(float)", INPUT_WIDTH)
    assert (out_name, out_kind, out_shape[1]) == (OUTPUT_NAME, "tensor(float)", OUTPUT_WIDTH)
    assert not isinstance(shape[0], int), "the leading axis must be dynamic for batching"


def test_foreign_model_scores_a_batch_into_probability_rows(foreign_repository: Path) -> None:
    session = open_session(foreign_repository / MODEL_NAME / "1" / "model.onnx")
    text = np.frombuffer(b"#!/bin/sh\necho hello\n" * 30, dtype=np.uint8)[:512].astype(np.float32)
    padding = np.full(INPUT_WIDTH, 256.0, dtype=np.float32)  # the model's padding token
    batch = np.stack([padding, np.concatenate([text, text, text])])
    (scores,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch})
    assert scores.shape == (2, OUTPUT_WIDTH)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    assert scores[0].argmax() != scores[1].argmax()


def test_a_second_fetch_reuses_the_cached_wheel(foreign_repository: Path, tmp_path: Path) -> None:
    wheel = cache_dir() / "wheels" / WHEEL
    before = wheel.stat()
    again = fetch_foreign_model(tmp_path)
    assert (again / MODEL_NAME / "1" / "model.onnx").read_bytes() == (
        foreign_repository / MODEL_NAME / "1" / "model.onnx"
    ).read_bytes()
    assert (wheel.stat().st_ino, wheel.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
