"""The committed example models: signatures, model.yaml agreement, size and sane predictions.

Accuracy thresholds, measured on every row of the bundled scikit-learn data set (training rows included):
breast-cancer (both versions) >= 0.95, diabetes-risk >= 0.70. A fresh build scores about 0.99 and 0.75.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from tests.support.models import MODELS_DIR, load_model_yaml, open_session

MODEL_FILES = sorted(MODELS_DIR.glob("*/*/model.onnx"))
WITH_YAML = sorted(path.parent.name for path in MODELS_DIR.glob("*/model.yaml"))
CANCER_VERSIONS = [1, 2]
# The oldest onnxruntime the project supports (1.17) reads IR <= 9 and default-domain opsets <= 20.
MAX_IR, MAX_OPSET = 9, 20


def signature(path: Path) -> dict[str, tuple[str, list[int | str | None]]]:
    """Input and output names mapped to (onnxruntime type, shape)."""
    session = open_session(path)
    return {arg.name: (arg.type, list(arg.shape)) for arg in [*session.get_inputs(), *session.get_outputs()]}


def cancer_path(version: int) -> Path:
    return MODELS_DIR / "breast-cancer" / str(version) / "model.onnx"


def diabetes_feeds() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The diabetes data in diabetes-risk's input layout (as models/README.md documents) and the truth."""
    bunch = load_diabetes(scaled=False)
    age, sex, rest = bunch.data[:, 0], bunch.data[:, 1], bunch.data[:, 2:]
    bands = np.select([age < 40, age < 50, age < 60], ["under-40", "40-49", "50-59"], "60-plus")
    category = np.stack([np.where(sex == 1, "female", "male"), bands], axis=1).astype(object)
    truth = np.where(bunch.target > np.median(bunch.target), "high", "low")
    return {"category": category, "numeric": rest.astype(np.float32)}, truth


def test_the_repository_holds_the_documented_model_versions() -> None:
    found = {str(path.relative_to(MODELS_DIR).parent) for path in MODEL_FILES}
    assert found == {"breast-cancer/1", "breast-cancer/2", "diabetes-risk/1", "tiny-sum/1"}
    assert WITH_YAML == ["breast-cancer", "diabetes-risk"]


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(MODELS_DIR).parent))
def test_every_committed_model_passes_the_onnx_checker_and_stays_small(path: Path) -> None:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert path.stat().st_size < 100_000


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(MODELS_DIR).parent))
def test_every_committed_model_loads_in_the_oldest_supported_onnxruntime(path: Path) -> None:
    model = onnx.load(path)
    default_opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    assert model.ir_version <= MAX_IR
    assert default_opset <= MAX_OPSET


@pytest.mark.parametrize("version", CANCER_VERSIONS)
def test_breast_cancer_takes_30_features_and_returns_probabilities_and_label(version: int) -> None:
    assert signature(cancer_path(version)) == {
        "features": ("tensor(float)", ["batch", 30]),
        "probabilities": ("tensor(float)", ["batch", 2]),
        "label": ("tensor(int64)", ["batch"]),
    }


def test_diabetes_risk_takes_a_string_and_a_float_tensor_and_returns_a_string_label() -> None:
    assert signature(MODELS_DIR / "diabetes-risk" / "1" / "model.onnx") == {
        "category": ("tensor(string)", ["batch", 2]),
        "numeric": ("tensor(float)", ["batch", 8]),
        "probabilities": ("tensor(float)", ["batch", 2]),
        "label": ("tensor(string)", ["batch"]),
    }


def test_tiny_sum_has_a_fixed_leading_axis_and_no_model_yaml() -> None:
    folder = MODELS_DIR / "tiny-sum"
    assert signature(folder / "1" / "model.onnx") == {
        "x": ("tensor(float)", [3]),
        "y": ("tensor(float)", [3]),
    }
    assert not (folder / "model.yaml").exists()


def test_tiny_sum_adds_its_input_to_itself() -> None:
    x = np.array([1.5, -2.0, 0.25], dtype=np.float32)
    (y,) = open_session(MODELS_DIR / "tiny-sum" / "1" / "model.onnx").run(["y"], {"x": x})
    np.testing.assert_array_equal(y, x + x)


@pytest.mark.parametrize("name", WITH_YAML)
def test_model_yaml_field_lists_match_the_tensor_widths_of_every_version(name: str) -> None:
    document = load_model_yaml(name)
    for path in sorted((MODELS_DIR / name).glob("*/model.onnx")):
        shapes = {tensor: shape for tensor, (_, shape) in signature(path).items()}
        for section in ("inputs", "outputs"):
            for tensor, mapping in document[section].items():
                assert tensor in shapes, f"{name}/model.yaml names {tensor!r}, {path} has {sorted(shapes)}"
                if "fields" in mapping:
                    assert shapes[tensor] == ["batch", len(mapping["fields"])]
                else:
                    assert shapes[tensor] == ["batch"], f"{tensor}: 'field' maps a [batch] tensor"


@pytest.mark.parametrize("name", WITH_YAML)
def test_model_yaml_gives_a_description_and_the_batching_contract(name: str) -> None:
    document = load_model_yaml(name)
    assert document["description"].strip()
    assert document["batching"] == {"max_batch_size": 1024, "max_queue_delay_us": 500}


def test_breast_cancer_model_yaml_names_the_30_data_set_features_in_snake_case() -> None:
    fields = load_model_yaml("breast-cancer")["inputs"]["features"]["fields"]
    assert fields == [name.replace(" ", "_") for name in load_breast_cancer().feature_names]
    assert load_model_yaml("breast-cancer")["outputs"]["probabilities"]["fields"] == [
        "p_benign",
        "p_malignant",
    ]


@pytest.mark.parametrize("version", CANCER_VERSIONS)
def test_breast_cancer_is_accurate_on_the_bundled_data_set(version: int) -> None:
    bunch = load_breast_cancer()
    malignant = 1 - bunch.target  # the data set says 1 = benign; the model says 1 = malignant
    labels, probabilities = open_session(cancer_path(version)).run(
        ["label", "probabilities"], {"features": bunch.data.astype(np.float32)}
    )
    assert np.mean(labels == malignant) >= 0.95
    np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_breast_cancer_versions_are_different_models() -> None:
    features = {"features": load_breast_cancer().data.astype(np.float32)}
    (first,) = open_session(cancer_path(1)).run(["probabilities"], features)
    (second,) = open_session(cancer_path(2)).run(["probabilities"], features)
    assert np.max(np.abs(first - second)) > 0.01


def test_diabetes_risk_is_accurate_on_the_bundled_data_set() -> None:
    feeds, truth = diabetes_feeds()
    labels, probabilities = open_session(MODELS_DIR / "diabetes-risk" / "1" / "model.onnx").run(
        ["label", "probabilities"], feeds
    )
    assert np.mean(labels == truth) >= 0.70
    # probabilities columns follow model.yaml's [p_high, p_low]
    np.testing.assert_array_equal(labels, np.where(probabilities[:, 0] > probabilities[:, 1], "high", "low"))


def test_diabetes_risk_scores_an_unknown_category_instead_of_failing() -> None:
    feeds = {
        "category": np.array([["unknown", "age-not-given"]], dtype=object),
        "numeric": np.array([[26.0, 95, 190, 115, 50, 4, 4.6, 90]], dtype=np.float32),
    }
    (labels,) = open_session(MODELS_DIR / "diabetes-risk" / "1" / "model.onnx").run(["label"], feeds)
    assert labels.tolist() in (["high"], ["low"])


@pytest.mark.parametrize(
    ("path", "feeds"),
    [
        (cancer_path(1), {"features": np.zeros((0, 30), np.float32)}),
        (cancer_path(2), {"features": np.zeros((0, 30), np.float32)}),
        (
            MODELS_DIR / "diabetes-risk" / "1" / "model.onnx",
            {"category": np.zeros((0, 2), dtype=object), "numeric": np.zeros((0, 8), np.float32)},
        ),
    ],
    ids=["breast-cancer/1", "breast-cancer/2", "diabetes-risk/1"],
)
def test_batched_models_accept_an_empty_batch(path: Path, feeds: dict[str, np.ndarray]) -> None:
    labels, probabilities = open_session(path).run(["label", "probabilities"], feeds)
    assert labels.shape == (0,)
    assert probabilities.shape == (0, 2)
