"""One claimed file through the state machine: checkpoints, resume, publish, archive (fake model)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from adapters.files.claims import Claims, Registered
from adapters.files.folders import Folders
from adapters.files.ledger import Entry, Ledger, State
from adapters.files.outbox import temporary
from adapters.files.processor import FileFailed, FileProcessor
from adapters.files.watcher import folders_of
from gateway.errors import ModelNotReady
from gateway.types import InferRequest, InferResponse
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, classify
from tests.unit.adapters.files.conftest import MakePipeline, claims_csv


def claim(folders: Folders, ledger: Ledger, name: str, data: bytes) -> Entry:
    (folders.inbox / name).write_bytes(data)
    claims = Claims(folders, ledger)
    taken = claims.take(name)
    assert taken is not None
    outcome = claims.register(taken)
    assert isinstance(outcome, Registered)
    return outcome.entry


def setup(
    make_pipeline: MakePipeline, **overrides: object
) -> tuple[FileProcessor, Folders, Ledger, FakeInferenceClient]:
    pipeline = make_pipeline(**overrides)
    folders = folders_of(pipeline)
    folders.prepare()
    ledger = Ledger(folders.ledger)
    client = FakeInferenceClient(classify, [CLASSIFIER])
    return FileProcessor(pipeline, folders, ledger, client), folders, ledger, client


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_a_file_is_scored_published_with_rejects_and_manifest_then_archived(
    make_pipeline: MakePipeline,
) -> None:
    processor, folders, ledger, _ = setup(make_pipeline)
    data = claims_csv(10, poison={3, 8})
    entry = processor.process(claim(folders, ledger, "claims.csv", data))
    assert entry.state is State.DONE
    result = rows(folders.outbox / "claims.result.csv")
    assert [r["claim_id"] for r in result] == [f"C{i:05d}" for i in (1, 2, 4, 5, 6, 7, 9, 10)]
    assert {r["input_name"] for r in result} == {"claims.csv"}
    assert {r["input_sha256"] for r in result} == {hashlib.sha256(data).hexdigest()}
    assert [r["record_no"] for r in result] == ["1", "2", "4", "5", "6", "7", "9", "10"]
    rejects = rows(folders.outbox / "claims.rejects.csv")
    assert [(r["record_no"], r["claim_id"]) for r in rejects] == [("3", "C00003"), ("8", "C00008")]
    manifest = json.loads((folders.outbox / "claims.manifest.json").read_text())
    assert manifest["records"] == {"total": 10, "scored": 8, "rejected": 2}
    assert (
        manifest["result"]["sha256"]
        == hashlib.sha256((folders.outbox / "claims.result.csv").read_bytes()).hexdigest()
    )
    assert manifest["model"]["versions"] == [{"version": "1", "sha256": CLASSIFIER.sha256}]
    assert (folders.archive / "claims.csv").read_bytes() == data
    assert list(folders.outbox.glob(".*")) == [] and not (folders.work / entry.sha256).exists()


def test_a_stopped_run_resumes_from_its_checkpoint_and_scores_each_record_once(
    make_pipeline: MakePipeline,
) -> None:
    processor, folders, ledger, client = setup(make_pipeline, chunk_rows=4)
    calls = {"n": 0}

    def flaky(request: InferRequest) -> InferResponse:
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk fails, as a crash or an outage would stop it
            raise ModelNotReady("model is reloading")
        return classify(request)

    client.handler = flaky
    entry = claim(folders, ledger, "claims.csv", claims_csv(10))
    with pytest.raises(ModelNotReady):
        processor.process(entry)
    paused = ledger.get(entry.sha256)
    assert paused is not None and paused.state is State.CHUNK and paused.checkpoint.records_done == 8
    with open(temporary(folders.outbox / "claims.result.csv"), "ab") as partial:
        partial.write(b"C99999,half a line that was never committed")
    client.handler = classify
    before = sum(len(c.inputs[0].data) for c in client.calls)
    assert processor.process(paused).state is State.DONE
    rescored = sum(len(c.inputs[0].data) for c in client.calls) - before
    assert rescored == 2
    assert [r["record_no"] for r in rows(folders.outbox / "claims.result.csv")] == [
        str(i) for i in range(1, 11)
    ]


def test_publishing_again_after_a_crash_between_renames_keeps_one_complete_output(
    make_pipeline: MakePipeline,
) -> None:
    processor, folders, ledger, _ = setup(make_pipeline)
    entry = claim(folders, ledger, "claims.csv", claims_csv(5))
    processor._score(entry)  # one step of the state machine: scored, not yet published
    scored = ledger.get(entry.sha256)
    assert scored is not None and scored.state is State.SCORED
    final = folders.outbox / "claims.result.csv"
    temporary(final).rename(final)  # the rename happened, the ledger never heard of it
    content = final.read_bytes()
    assert processor.process(scored).state is State.DONE
    assert final.read_bytes() == content


def test_a_bad_record_under_on_bad_record_fail_fails_the_file(make_pipeline: MakePipeline) -> None:
    processor, folders, ledger, _ = setup(make_pipeline, on_bad_record="fail")
    entry = claim(folders, ledger, "claims.csv", claims_csv(6, poison={5}))
    with pytest.raises(FileFailed, match="record 5: input 'features': value -999 is not allowed"):
        processor.process(entry)


def test_more_rejects_than_the_reject_limit_fail_the_file(make_pipeline: MakePipeline) -> None:
    processor, folders, ledger, _ = setup(make_pipeline, reject_limit=1)
    entry = claim(folders, ledger, "claims.csv", claims_csv(6, poison={2, 5}))
    with pytest.raises(FileFailed, match="2 records rejected, more than reject_limit 1"):
        processor.process(entry)


def test_a_replay_of_the_same_name_replaces_its_outputs_and_drops_stale_rejects(
    make_pipeline: MakePipeline,
) -> None:
    processor, folders, ledger, _ = setup(make_pipeline)
    processor.process(claim(folders, ledger, "claims.csv", claims_csv(4, poison={2})))
    assert (folders.outbox / "claims.rejects.csv").exists()
    second = claims_csv(5)
    processor.process(claim(folders, ledger, "claims.csv", second))
    assert len(rows(folders.outbox / "claims.result.csv")) == 5
    assert not (folders.outbox / "claims.rejects.csv").exists()
    tag = hashlib.sha256(second).hexdigest()[:12]
    assert {p.name for p in folders.archive.iterdir()} == {"claims.csv", f"claims.{tag}.csv"}
