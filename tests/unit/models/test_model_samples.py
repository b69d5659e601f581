"""The committed business samples in models/samples/ feed the example models by field name."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.support.models import MODELS_DIR, load_model_yaml, normalise_field, open_session

SAMPLES = MODELS_DIR / "samples"
# sample file, its key column, the model it feeds
CASES = [
    ("breast-cancer-claims.csv", "claim_id", "breast-cancer"),
    ("diabetes-patients.csv", "patient_id", "diabetes-risk"),
]


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def input_fields(model: str) -> dict[str, list[str]]:
    """Each input tensor of *model* with the business fields model.yaml maps onto its columns."""
    return {tensor: mapping["fields"] for tensor, mapping in load_model_yaml(model)["inputs"].items()}


@pytest.mark.parametrize(("sample", "key", "model"), CASES)
def test_sample_columns_are_the_key_plus_the_model_yaml_fields_after_normalisation(
    sample: str, key: str, model: str
) -> None:
    header, _ = read_csv(SAMPLES / sample)
    wanted = [field for fields in input_fields(model).values() for field in fields]
    assert header[0] == key
    assert [normalise_field(column) for column in header[1:]] == wanted


@pytest.mark.parametrize(("sample", "key", "model"), CASES)
def test_sample_spells_some_columns_differently_from_model_yaml_to_show_name_matching(
    sample: str, key: str, model: str
) -> None:
    header, _ = read_csv(SAMPLES / sample)
    respelled = [column for column in header[1:] if column != normalise_field(column)]
    assert any("-" in column for column in respelled)
    assert any(column != column.lower() for column in respelled)


@pytest.mark.parametrize(("sample", "key", "model"), CASES)
def test_sample_has_about_200_rows_with_unique_keys(sample: str, key: str, model: str) -> None:
    header, rows = read_csv(SAMPLES / sample)
    keys = [row[0] for row in rows]
    assert 150 <= len(rows) <= 250
    assert len(set(keys)) == len(keys)
    assert all(len(row) == len(header) for row in rows)


def tensors_from_sample(sample: str, model: str) -> dict[str, np.ndarray]:
    """The model's input tensors built from the sample by normalised column name, as the adapters map."""
    header, rows = read_csv(SAMPLES / sample)
    position = {normalise_field(column): i for i, column in enumerate(header)}
    types = {arg.name: arg.type for arg in open_session(MODELS_DIR / model / "1" / "model.onnx").get_inputs()}
    feeds = {}
    for tensor, fields in input_fields(model).items():
        columns = [[row[position[field]] for field in fields] for row in rows]
        feeds[tensor] = np.array(columns, dtype=object if types[tensor] == "tensor(string)" else np.float32)
    return feeds


@pytest.mark.parametrize(("sample", "key", "model"), CASES)
def test_every_sample_row_scores_through_its_model(sample: str, key: str, model: str) -> None:
    feeds = tensors_from_sample(sample, model)
    session = open_session(MODELS_DIR / model / "1" / "model.onnx")
    labels, probabilities = session.run(["label", "probabilities"], feeds)
    assert len(labels) == len(next(iter(feeds.values())))
    assert len(set(labels.tolist())) == 2, "a sample whose rows all get one label shows little in a demo"
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_diabetes_sample_categories_are_ones_the_model_was_trained_on() -> None:
    header, rows = read_csv(SAMPLES / "diabetes-patients.csv")
    sex, band = header.index("sex"), header.index("age_band")
    assert {row[sex] for row in rows} == {"female", "male"}
    assert {row[band] for row in rows} == {"under-40", "40-49", "50-59", "60-plus"}
