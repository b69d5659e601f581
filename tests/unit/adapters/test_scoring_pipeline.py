"""ScoringPipeline against FakeInferenceClient: order, rejections, bisection, splitting and lineage."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from adapters.mapping import MappingConfigError
from adapters.pipeline import (
    FILE_LINEAGE_COLUMNS,
    MESSAGE_LINEAGE_COLUMNS,
    FileRef,
    MessageRef,
    RecordBatch,
    ScoringPipeline,
    parse_model_ref,
)
from gateway.errors import ModelNotFound, QueueFull
from gateway.types import InferRequest, InferResponse
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, POISON, SHA, classify

FILE = FileRef("claims.csv", "cd" * 32)


def batch_of(radius, texture, claim_ids=None, first=1) -> RecordBatch:
    n = len(radius)
    columns = {"MEAN-RADIUS": radius, "MEAN-TEXTURE": texture}
    columns["CLAIM-ID"] = claim_ids if claim_ids is not None else [f"c{first + i}" for i in range(n)]
    return RecordBatch(columns, np.arange(first, first + n))


def test_every_result_row_belongs_to_its_input_row_in_input_order(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["claim_id"], max_batch_rows=3)
    radius = np.arange(20, dtype=np.float64)
    scored = pipeline.score(batch_of(radius, np.ones(20)), FILE)

    assert scored.n_rows == 20
    np.testing.assert_array_equal(scored.columns["p_benign"], radius + 1)
    assert scored.columns["claim_id"].tolist() == [f"c{i}" for i in range(1, 21)]
    np.testing.assert_array_equal(scored.record_numbers, np.arange(1, 21))


def test_result_columns_are_carried_then_outputs_then_lineage(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["claim_id"])
    scored = pipeline.score(batch_of([1.0], [2.0]), FILE)

    expected = ("claim_id", "p_benign", "p_malignant", "label", *FILE_LINEAGE_COLUMNS)
    assert tuple(scored.column_names) == expected == pipeline.result_columns(FILE)


def test_rows_are_sent_in_calls_of_at_most_max_batch_rows_and_the_model_limit(classifier_client):
    one_by_one = {"max_in_flight": 1}  # calls recorded in a fixed order
    ScoringPipeline(classifier_client, "classifier", max_batch_rows=3, **one_by_one).score(
        batch_of(np.ones(10), np.ones(10)), FILE
    )
    ScoringPipeline(classifier_client, "classifier", max_batch_rows=100, **one_by_one).score(
        batch_of(np.ones(10), np.ones(10)), FILE
    )

    rows = [call.inputs[0].data.shape[0] for call in classifier_client.calls]
    assert rows == [3, 3, 3, 1, 8, 2]


def test_only_the_outputs_model_yaml_names_are_requested(classifier_client):
    ScoringPipeline(classifier_client, "classifier").score(batch_of([1.0], [1.0]), FILE)

    assert classifier_client.calls[0].outputs == ["probabilities", "label"]


def test_unconvertible_values_are_rejected_with_record_numbers_and_the_rest_scored(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["claim_id"])
    scored = pipeline.score(batch_of(["1", "oops", "3", None], [1, 1, 1, 1], first=41), FILE)

    assert scored.columns["claim_id"].tolist() == ["c41", "c43"]
    assert [(r.record_number, r.field, r.reason) for r in scored.rejections] == [
        (42, "mean_radius", "not a number: 'oops'"),
        (44, "mean_radius", "missing value"),
    ]


def test_bisection_isolates_rows_the_model_refuses_and_scores_the_others(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", max_batch_rows=8)
    radius = np.arange(16, dtype=np.float64)
    radius[[3, 12]] = POISON
    scored = pipeline.score(batch_of(radius, np.zeros(16)), FILE)

    assert [(r.record_number, r.field) for r in scored.rejections] == [(4, ""), (13, "")]
    assert all(r.reason == "input 'features': value -999 is not allowed" for r in scored.rejections)
    expected_rows = [i + 1 for i in range(16) if i not in (3, 12)]
    assert scored.record_numbers.tolist() == expected_rows
    np.testing.assert_array_equal(scored.columns["p_benign"], np.delete(radius, [3, 12]))
    # two chunks of 8, each bisected down to one bad row: at most 1 + 2 * log2(8) calls per chunk
    assert len(classifier_client.calls) <= 2 * (1 + 2 * 3)


def test_model_and_mapping_rejections_are_listed_together_in_input_order(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier")
    scored = pipeline.score(batch_of([POISON, "x", 1.0, POISON], [0, 0, 0, 0]), FILE)

    assert [(r.record_number, r.field) for r in scored.rejections] == [(1, ""), (2, "mean_radius"), (4, "")]
    assert scored.record_numbers.tolist() == [3]


def test_every_file_row_carries_lineage(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", run_id="run-7")
    scored = pipeline.score(batch_of(np.ones(5), np.ones(5), first=10), FILE)

    cols = scored.columns
    assert set(cols["model_name"]) == {"classifier"}
    assert set(cols["model_version"]) == {"1"}
    assert set(cols["model_sha256"]) == {SHA}
    assert set(cols["input_name"]) == {"claims.csv"}
    assert set(cols["input_sha256"]) == {"cd" * 32}
    assert cols["record_no"].tolist() == [10, 11, 12, 13, 14]
    assert set(cols["run_id"]) == {"run-7"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in cols["processed_at"])
    assert all(len(column) == 5 for column in cols.values())


def test_every_message_row_carries_its_message_and_correlation_ids(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier")
    ref = MessageRef(["m1", "m2", "m2"], ["k1", "k2", "k2"])
    scored = pipeline.score(batch_of([1.0, "bad", 2.0], [0, 0, 0]), ref)

    assert tuple(scored.column_names[-len(MESSAGE_LINEAGE_COLUMNS) :]) == MESSAGE_LINEAGE_COLUMNS
    assert scored.columns["message_id"].tolist() == ["m1", "m2"]
    assert scored.columns["correlation_id"].tolist() == ["k1", "k2"]
    assert "input_name" not in scored.columns


def test_message_ref_must_have_one_entry_per_row(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier")

    with pytest.raises(ValueError, match="1 message id"):
        pipeline.score(batch_of([1.0, 2.0], [0, 0]), MessageRef(["m1"], ["k1"]))


def test_rows_carry_the_model_version_that_scored_them_across_a_version_switch():
    versions = iter(["1", "2", "2"])

    def switching(request: InferRequest) -> InferResponse:
        response = classify(request)
        response.model_version = next(versions)
        response.model_sha256 = response.model_version * 64
        return response

    client = FakeInferenceClient(switching, [CLASSIFIER])
    pipeline = ScoringPipeline(client, "classifier", max_batch_rows=2, max_in_flight=1)
    scored = pipeline.score(batch_of(np.ones(5), np.ones(5)), FILE)

    assert scored.columns["model_version"].tolist() == ["1", "1", "2", "2", "2"]
    assert scored.columns["model_sha256"].tolist() == ["1" * 64] * 2 + ["2" * 64] * 3


def test_calls_in_flight_together_still_give_results_in_input_order():
    started = threading.Barrier(4, timeout=10)

    def together(request: InferRequest) -> InferResponse:
        started.wait()  # only returns once 4 calls are in flight at the same time
        return classify(request)

    client = FakeInferenceClient(together, [CLASSIFIER])
    pipeline = ScoringPipeline(client, "classifier", max_batch_rows=2, max_in_flight=4)
    radius = np.arange(8, dtype=np.float64)
    scored = pipeline.score(batch_of(radius, np.zeros(8)), FILE)

    np.testing.assert_array_equal(scored.columns["p_benign"], radius)
    assert scored.record_numbers.tolist() == list(range(1, 9))


def test_errors_other_than_invalid_input_propagate_to_the_transport():
    def full(request: InferRequest) -> InferResponse:
        raise QueueFull("queue of model 'classifier' is full")

    pipeline = ScoringPipeline(FakeInferenceClient(full, [CLASSIFIER]), "classifier")

    with pytest.raises(QueueFull):
        pipeline.score(batch_of([1.0, 2.0], [0, 0]), FILE)


def test_a_batch_with_every_row_rejected_gives_empty_columns_and_makes_no_call(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["claim_id"])
    scored = pipeline.score(batch_of(["a", "b"], [0, 0]), FILE)

    assert scored.n_rows == 0 and len(scored.rejections) == 2
    assert tuple(scored.column_names) == pipeline.result_columns(FILE)
    assert all(len(column) == 0 for column in scored.columns.values())
    assert classifier_client.calls == []


def test_carried_field_the_records_lack_is_carried_as_none(classifier_client):
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["branch"])
    scored = pipeline.score(batch_of([1.0], [1.0]), FILE)

    assert scored.columns["branch"].tolist() == [None]


def test_known_record_fields_are_checked_when_the_pipeline_is_built(classifier_client):
    with pytest.raises(MappingConfigError, match=r"mean_texture.*record fields: MEAN-RADIUS"):
        ScoringPipeline(classifier_client, "classifier", record_fields=["MEAN-RADIUS"])


def test_unknown_model_fails_when_the_pipeline_is_built(classifier_client):
    with pytest.raises(ModelNotFound):
        ScoringPipeline(classifier_client, "no-such-model")


def test_model_version_is_sent_with_every_call(classifier_client):
    ScoringPipeline(classifier_client, "classifier:1").score(batch_of([1.0], [1.0]), FILE)

    assert classifier_client.calls[0].model_version == "1"


@pytest.mark.parametrize("text", ["", ":1", "m:0", "m:v2", "m:-1"])
def test_malformed_model_references_are_config_errors(text):
    with pytest.raises(MappingConfigError, match="NAME:VERSION"):
        parse_model_ref(text)


def test_record_batch_from_records_fills_absent_keys_with_none():
    batch = RecordBatch.from_records([{"a": 1}, {"b": "x"}], first_record_no=5)

    assert {k: list(v) for k, v in batch.columns.items()} == {"a": [1, None], "b": [None, "x"]}
    assert batch.record_numbers.tolist() == [5, 6]


def test_nested_record_objects_feed_model_fields_by_member_name(classifier_client):
    records = [{"CLAIM-ID": "c1", "MEASURES": {"MEAN-RADIUS": 2.0, "MEAN-TEXTURE": 3.0}}]
    pipeline = ScoringPipeline(classifier_client, "classifier", carry=["claim_id"])
    scored = pipeline.score(RecordBatch.from_records(records), MessageRef(["m"], ["k"]))

    assert scored.rejections == []
    assert scored.columns["p_benign"].tolist() == [5.0] and scored.columns["claim_id"].tolist() == ["c1"]


def test_record_batch_refuses_columns_of_different_lengths():
    with pytest.raises(ValueError, match="column 'b' has 1 values, expected 2"):
        RecordBatch({"a": [1, 2], "b": [1]}, np.array([1, 2]))


def test_scored_rows_are_plain_python_values_for_json(classifier_client):
    scored = ScoringPipeline(classifier_client, "classifier").score(batch_of([1.0], [1.0]), FILE)

    (row,) = scored.rows()
    assert row["label"] == 1 and type(row["label"]) is int
    assert type(row["p_benign"]) is float and row["record_no"] == 1
