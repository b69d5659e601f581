"""Output names, field needs and rejects lines: the glue between configs, codecs and the scoring core."""

from __future__ import annotations

import numpy as np

from adapters.config_formats import CsvOutput, JsonlOutput
from adapters.formats import FieldNeeds, output_names, rejects_encoder
from adapters.pipeline import RecordBatch, Rejection, ScoringPipeline
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, classify


def test_output_names_derive_from_the_input_name_so_a_replay_replaces_them() -> None:
    names = output_names("claims.2024.csv", "csv", "csv")
    assert (names.result, names.rejects, names.manifest, names.done) == (
        "claims.2024.result.csv",
        "claims.2024.rejects.csv",
        "claims.2024.manifest.json",
        "claims.2024.result.csv.done",
    )
    assert output_names("CLAIMS.DAT", "", "csv").result == "CLAIMS.result.DAT"
    assert output_names("README", "jsonl", "jsonl").result == "README.result.jsonl"
    assert output_names(".hidden", "csv", "csv").result == ".hidden.result.csv"


def test_field_needs_parse_numeric_inputs_as_numbers_and_keep_carried_fields_as_text() -> None:
    pipeline = ScoringPipeline(
        FakeInferenceClient(classify, [CLASSIFIER]), "classifier", carry=["mean_texture", "id"]
    )
    needs = FieldNeeds(pipeline)
    assert needs.numeric("MEAN-RADIUS") and needs.numeric("claim.mean_radius")
    assert needs.wanted("mean_texture") and not needs.numeric("mean_texture")  # carried: kept exact
    assert needs.wanted("ID") and not needs.wanted("notes")


def test_rejects_lines_carry_the_records_carried_fields_when_the_record_decoded() -> None:
    encoder = rejects_encoder(CsvOutput(format="csv", carry=("claim_id",)))
    batch = RecordBatch({"claim_id": np.array(["A", "B", "C"], dtype=object)}, np.array([1, 2, 4]))
    rejections = [
        Rejection(2, "mean_radius", "not a number: 'x'"),
        Rejection(3, "", "expected 3 fields, saw 4"),
    ]
    text = (encoder.header() + encoder.encode(rejections, batch)).decode()
    assert text.splitlines() == [
        "record_no,field,reason,claim_id",
        "2,mean_radius,not a number: 'x',B",
        '3,,"expected 3 fields, saw 4",',
    ]
    assert rejects_encoder(JsonlOutput(format="jsonl")).extension == "jsonl"
