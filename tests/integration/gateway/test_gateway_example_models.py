"""The committed example repository (models/) served by a real gateway gives onnxruntime's own answers.

Inputs come from the business samples in models/samples (matched to model.yaml's field mapping the way the
design says: case-insensitive, ``-`` and ``_`` alike); a model without a mapping gets seeded random numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as triton

from tests.support.gateway_process import gateway_process
from tests.support.models import MODELS_DIR, load_model_yaml, normalise_field, open_session
from tests.support.triton_calls import inputs_for

ROWS = 16
NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BYTES": object}


@pytest.fixture(scope="module")
def served() -> Iterator[triton.InferenceServerClient]:
    with gateway_process(MODELS_DIR) as gateway, triton.InferenceServerClient(gateway.address) as client:
        yield client


def sample_columns() -> dict[str, list[str]]:
    """Every column of every sample file, by normalised field name."""
    columns: dict[str, list[str]] = {}
    for path in sorted((MODELS_DIR / "samples").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for name in rows[0]:
            columns[normalise_field(name)] = [row[name] for row in rows[:ROWS]]
    return columns


def feeds(model: str, metadata: object) -> dict[str, np.ndarray]:
    mapping = load_model_yaml(model).get("inputs", {}) if (MODELS_DIR / model / "model.yaml").exists() else {}
    columns = sample_columns()
    rng = np.random.default_rng(7)
    result = {}
    for spec in metadata.inputs:  # type: ignore[attr-defined]
        dtype = NUMPY[spec.datatype]
        fields = mapping.get(spec.name, {}).get("fields")
        if fields:
            table = np.array([columns[normalise_field(f)] for f in fields]).T
            result[spec.name] = table.astype(dtype)
        else:
            shape = [ROWS if d == -1 else d for d in spec.shape]
            result[spec.name] = rng.standard_normal(shape).astype(dtype)
    return result


def served_versions() -> list[tuple[str, str]]:
    """(model, version) for each model folder: the default version policy serves the highest version."""
    found = []
    for folder in sorted(p for p in MODELS_DIR.iterdir() if p.is_dir()):
        versions = [
            int(v.name) for v in folder.iterdir() if v.name.isdigit() and (v / "model.onnx").is_file()
        ]
        if versions:
            found.append((folder.name, str(max(versions))))
    return found


@pytest.mark.parametrize(("model", "version"), served_versions(), ids=lambda v: str(v))
def test_every_example_model_answers_like_onnxruntime(
    served: triton.InferenceServerClient, model: str, version: str
) -> None:
    metadata = served.get_model_metadata(model)
    inputs = feeds(model, metadata)
    result = served.infer(model, inputs_for(**inputs), model_version=version)
    assert result.get_response().model_version == version
    session = open_session(MODELS_DIR / model / version / "model.onnx")
    ort_feeds = {k: v.astype(str) if v.dtype == object else v for k, v in inputs.items()}
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, ort_feeds), strict=True))
    assert sorted(expected) == sorted(o.name for o in metadata.outputs)
    for name, want in expected.items():
        got = result.as_numpy(name)
        if want.dtype.kind in "OUS":
            assert [g.decode() for g in got.ravel()] == [str(w) for w in want.ravel()]
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_example_repository_serves_every_model(served: triton.InferenceServerClient) -> None:
    index = {(m.name, m.version): m.state for m in served.get_model_repository_index().models}
    assert all(state == "READY" for state in index.values()), index
    assert sorted(index) == served_versions()
