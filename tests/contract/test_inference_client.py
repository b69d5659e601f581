"""One contract for every InferenceClient: in-process, remote (a real ``bridgeway serve``) and the fake.

Same inputs give the same outputs, the same model descriptions and the same exception classes, so adapters
(and their unit tests on the fake) behave the same whichever client they are given. Expected values come
from onnxruntime run directly on the model files.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from adapters.client.base import InferenceClient
from adapters.client.local import LocalInferenceClient
from adapters.client.remote import RemoteInferenceClient
from adapters.pipeline import FileRef, RecordBatch, ScoringPipeline
from gateway.errors import BridgewayError, InvalidInput, ModelNotFound
from gateway.repository import file_sha256
from gateway.types import InferRequest, Tensor, TensorFields
from tests.support.gateway_process import gateway_process
from tests.support.models import MODELS_DIR, normalise_field, open_session
from tests.support.onnx_fake import onnx_fake_client

BREAST_CANCER_V2 = MODELS_DIR / "breast-cancer" / "2" / "model.onnx"
DIABETES_V1 = MODELS_DIR / "diabetes-risk" / "1" / "model.onnx"
TINY_SUM_V1 = MODELS_DIR / "tiny-sum" / "1" / "model.onnx"


@pytest.fixture(
    scope="module",
    params=["local", pytest.param("remote", marks=pytest.mark.integration), "fake"],
)
def client(request: pytest.FixtureRequest) -> Iterator[InferenceClient]:
    if request.param == "local":
        with LocalInferenceClient(MODELS_DIR, timeout_s=60) as local:
            yield local
    elif request.param == "remote":
        with gateway_process(MODELS_DIR) as gateway, RemoteInferenceClient([gateway.address]) as remote:
            yield remote
    else:
        yield onnx_fake_client(MODELS_DIR)


def features(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(10, 3, size=(rows, 30)).astype(np.float32)


def diabetes_inputs() -> tuple[np.ndarray, np.ndarray]:
    category = np.array([[b"female", b"50-59"], [b"male", b"under-40"], [b"male", b"60-plus"]], dtype=object)
    numeric = np.array(
        [
            [32.1, 101, 157, 93.2, 38, 4, 4.86, 87],
            [21.6, 87, 183, 103.2, 70, 3, 3.89, 69],
            [30.5, 93, 156, 93.6, 41, 4, 4.67, 85],
        ],
        dtype=np.float32,
    )
    return category, numeric


def test_infer_returns_the_model_outputs_and_lineage(client: InferenceClient):
    x = features(5)
    response = client.infer(InferRequest("breast-cancer", [Tensor("features", "FP32", x)]))

    label, probabilities = open_session(BREAST_CANCER_V2).run(["label", "probabilities"], {"features": x})
    outputs = {t.name: t for t in response.outputs}
    assert set(outputs) == {"label", "probabilities"}
    assert outputs["probabilities"].datatype == "FP32" and outputs["label"].datatype == "INT64"
    np.testing.assert_allclose(outputs["probabilities"].data, probabilities, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs["label"].data, label)
    assert (response.model_name, response.model_version) == ("breast-cancer", "2")
    assert response.model_sha256 == file_sha256(BREAST_CANCER_V2)


def test_requested_outputs_are_the_only_ones_returned(client: InferenceClient):
    response = client.infer(
        InferRequest("breast-cancer", [Tensor("features", "FP32", features(2))], outputs=["label"])
    )

    assert [t.name for t in response.outputs] == ["label"]


def test_bytes_inputs_and_outputs_travel_as_bytes(client: InferenceClient):
    category, numeric = diabetes_inputs()
    request = InferRequest(
        "diabetes-risk", [Tensor("category", "BYTES", category), Tensor("numeric", "FP32", numeric)]
    )
    response = client.infer(request)

    expected = open_session(DIABETES_V1).run(
        ["label"], {"category": category.astype(str).astype(object), "numeric": numeric}
    )[0]
    label = next(t for t in response.outputs if t.name == "label")
    assert label.datatype == "BYTES"
    assert label.data.tolist() == [s.encode() for s in expected.tolist()]


def test_model_without_batch_axis_is_served_unbatched(client: InferenceClient):
    response = client.infer(InferRequest("tiny-sum", [Tensor("x", "FP32", np.array([1, 2, 3], np.float32))]))

    (y,) = response.outputs
    np.testing.assert_array_equal(y.data, [2, 4, 6])


def test_concurrent_calls_from_threads_each_get_their_own_result(client: InferenceClient):
    inputs = [features(3, seed) for seed in range(16)]
    session = open_session(BREAST_CANCER_V2)

    def one(x: np.ndarray) -> np.ndarray:
        response = client.infer(
            InferRequest("breast-cancer", [Tensor("features", "FP32", x)], outputs=["probabilities"])
        )
        return response.outputs[0].data

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, inputs))
    for x, got in zip(inputs, results, strict=True):
        np.testing.assert_allclose(
            got, session.run(["probabilities"], {"features": x})[0], rtol=1e-5, atol=1e-6
        )


def test_metadata_describes_the_onnx_signature(client: InferenceClient):
    metadata = client.model_metadata("breast-cancer")

    assert metadata.name == "breast-cancer" and metadata.versions == ("2",)
    assert [(s.name, s.datatype, s.shape) for s in metadata.inputs] == [("features", "FP32", (-1, 30))]
    assert sorted((s.name, s.datatype, s.shape) for s in metadata.outputs) == [
        ("label", "INT64", (-1,)),
        ("probabilities", "FP32", (-1, 2)),
    ]


def test_config_carries_batching_and_the_model_yaml_field_mapping(client: InferenceClient):
    config = client.model_config("breast-cancer")

    assert config.max_batch_size == 1024 and config.version == "2"
    (features_map,) = config.input_fields
    assert features_map.tensor == "features" and features_map.columns
    assert features_map.fields[:2] == ("mean_radius", "mean_texture") and len(features_map.fields) == 30
    assert set(config.output_fields) == {
        TensorFields("probabilities", ("p_benign", "p_malignant"), True),
        TensorFields("label", ("label",), False),
    }


def test_model_without_model_yaml_has_no_field_mapping(client: InferenceClient):
    config = client.model_config("tiny-sum")

    assert config.input_fields == () and config.output_fields == ()


def test_model_ready_is_true_for_a_served_model_and_false_for_an_unknown_one(client: InferenceClient):
    assert client.model_ready("breast-cancer") is True
    assert client.model_ready("no-such-model") is False


BAD_REQUESTS: dict[str, tuple[Callable[[], InferRequest], type[BridgewayError], str]] = {
    "unknown model": (
        lambda: InferRequest("no-such-model", [Tensor("features", "FP32", features(1))]),
        ModelNotFound,
        "no-such-model",
    ),
    "unknown version": (
        lambda: InferRequest("breast-cancer", [Tensor("features", "FP32", features(1))], model_version="99"),
        ModelNotFound,
        "99",
    ),
    "wrong input name": (
        lambda: InferRequest("breast-cancer", [Tensor("feature", "FP32", features(1))]),
        InvalidInput,
        "feature",
    ),
    "wrong shape": (
        lambda: InferRequest("breast-cancer", [Tensor("features", "FP32", features(2)[:, :29])]),
        InvalidInput,
        "features",
    ),
    "wrong datatype": (
        lambda: InferRequest("breast-cancer", [Tensor("features", "FP64", features(1).astype(np.float64))]),
        InvalidInput,
        "features",
    ),
    "missing input": (
        lambda: InferRequest("diabetes-risk", [Tensor("numeric", "FP32", diabetes_inputs()[1])]),
        InvalidInput,
        "category",
    ),
    "unknown requested output": (
        lambda: InferRequest("breast-cancer", [Tensor("features", "FP32", features(1))], outputs=["score"]),
        InvalidInput,
        "score",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_raise_the_same_error_class_naming_the_culprit(client: InferenceClient, case: str):
    build, error, culprit = BAD_REQUESTS[case]

    with pytest.raises(error) as caught:
        client.infer(build())

    assert type(caught.value) is error
    assert culprit in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_metadata_of_an_unknown_model_raises_model_not_found(client: InferenceClient):
    with pytest.raises(ModelNotFound):
        client.model_metadata("no-such-model")
    with pytest.raises(ModelNotFound):
        client.model_config("no-such-model")


def test_scoring_the_sample_claims_file_gives_the_same_results_through_every_client(client: InferenceClient):
    with (MODELS_DIR / "samples" / "breast-cancer-claims.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    pipeline = ScoringPipeline(client, "breast-cancer", carry=["claim_id"], max_batch_rows=64)
    scored = pipeline.score(
        RecordBatch(columns, np.arange(1, len(rows) + 1)), FileRef("claims.csv", "0" * 64)
    )

    fields = pipeline.mapping.inputs[0].fields
    by_normal = {normalise_field(name): name for name in columns}
    x = np.array([[float(row[by_normal[f]]) for f in fields] for row in rows], dtype=np.float32)
    label, probabilities = open_session(BREAST_CANCER_V2).run(["label", "probabilities"], {"features": x})
    assert scored.rejections == [] and scored.n_rows == len(rows)
    assert scored.columns["claim_id"].tolist() == [row["claim_id"] for row in rows]
    np.testing.assert_allclose(scored.columns["p_malignant"], probabilities[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scored.columns["label"], label)
    assert set(scored.columns["model_sha256"]) == {file_sha256(BREAST_CANCER_V2)}


def test_scoring_mixed_text_and_numeric_records_through_every_client(client: InferenceClient):
    with (MODELS_DIR / "samples" / "diabetes-patients.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:50]
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    pipeline = ScoringPipeline(client, "diabetes-risk", carry=["patient_id"])
    scored = pipeline.score(
        RecordBatch(columns, np.arange(1, len(rows) + 1)), FileRef("patients.csv", "1" * 64)
    )

    assert scored.rejections == [] and scored.n_rows == 50
    assert set(scored.columns["risk"].tolist()) <= {"high", "low"}
    np.testing.assert_allclose(scored.columns["p_high"] + scored.columns["p_low"], 1.0, rtol=1e-5)


def test_scoring_a_model_without_model_yaml_names_columns_after_its_tensors(client: InferenceClient):
    pipeline = ScoringPipeline(client, "tiny-sum")
    batch = RecordBatch({"X_0": [1, 4], "x-1": [2, 5], "x_2": ["3", "6"]}, np.array([1, 2]))
    scored = pipeline.score(batch, FileRef("t.csv", "2" * 64))

    assert pipeline.output_columns == ("y_0", "y_1", "y_2")
    assert scored.columns["y_2"].tolist() == [6.0, 12.0]
