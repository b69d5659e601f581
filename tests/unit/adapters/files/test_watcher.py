"""The watcher's rounds: intake, duplicates, refusals, failures and retries, recovery after a restart."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from adapters.files.ledger import State
from adapters.files.watcher import FolderWatcher
from gateway.errors import ModelNotReady
from gateway.types import InferRequest, InferResponse
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, classify
from tests.unit.adapters.files.conftest import MakePipeline, claims_csv


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watcher(make_pipeline: MakePipeline, clock: Clock | None = None, **overrides: object) -> FolderWatcher:
    client = FakeInferenceClient(classify, [CLASSIFIER])
    opened = FolderWatcher(make_pipeline(**overrides), client, threading.Event(), clock=clock or Clock())
    opened.open()
    return opened


def drop(folder: Path, name: str, data: bytes) -> None:
    """Write under a hidden name, then rename in: what a well-behaved sender does."""
    (folder / f".{name}.part").write_bytes(data)
    os.rename(folder / f".{name}.part", folder / name)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_dropped_file_ends_archived_with_its_outputs_published(make_pipeline: MakePipeline) -> None:
    w = watcher(make_pipeline)
    drop(w.folders.inbox, "a.csv", claims_csv(3))
    w.poll()
    assert names(w.folders.outbox) == ["a.manifest.json", "a.result.csv"]
    assert names(w.folders.archive) == ["a.csv"] and names(w.folders.inbox) == []


def test_the_same_bytes_again_are_archived_as_a_duplicate_without_new_outputs(
    make_pipeline: MakePipeline,
) -> None:
    w = watcher(make_pipeline)
    drop(w.folders.inbox, "a.csv", claims_csv(3))
    w.poll()
    before = {p.name: p.stat().st_mtime_ns for p in w.folders.outbox.iterdir()}
    drop(w.folders.inbox, "a.csv", claims_csv(3))
    drop(w.folders.inbox, "b.csv", claims_csv(3))
    w.poll()
    assert {p.name: p.stat().st_mtime_ns for p in w.folders.outbox.iterdir()} == before
    assert len(names(w.folders.archive)) == 3
    assert sum(1 for n in names(w.folders.archive) if ".duplicate-" in n) == 2


def test_a_refused_entry_goes_to_errors_with_a_reason_file_and_the_others_are_scored(
    make_pipeline: MakePipeline,
) -> None:
    w = watcher(make_pipeline)
    (w.folders.inbox / "link.csv").symlink_to("/etc/hostname")
    drop(w.folders.inbox, "good.csv", claims_csv(2))
    w.poll()
    reason = json.loads((w.folders.errors / "link.csv.reason.json").read_text())
    assert reason["reason"] == "refused: a symbolic link; links are never followed"
    assert (w.folders.errors / "link.csv").is_symlink()
    assert names(w.folders.archive) == ["good.csv"]


def test_an_undecodable_file_goes_to_errors_and_the_same_bytes_are_tried_again_later(
    make_pipeline: MakePipeline,
) -> None:
    w = watcher(make_pipeline)
    bad = b"claim_id,mean_radius\n\xff\xfe,1\n"
    drop(w.folders.inbox, "bad.csv", bad)
    w.poll()
    reason = json.loads((w.folders.errors / "bad.csv.reason.json").read_text())
    assert reason["reason"].startswith("the file cannot be decoded: text is not valid utf-8")
    assert (w.folders.errors / "bad.csv").read_bytes() == bad
    assert list(w.folders.outbox.iterdir()) == []
    drop(w.folders.inbox, "bad.csv", bad)
    w.poll()
    assert len([n for n in names(w.folders.errors) if n.endswith(".reason.json")]) == 2


def test_a_model_that_is_not_ready_leaves_the_file_claimed_until_a_later_round(
    make_pipeline: MakePipeline,
) -> None:
    clock = Clock()
    w = watcher(make_pipeline, clock)
    ready = {"now": False}

    def handler(request: InferRequest) -> InferResponse:
        if not ready["now"]:
            raise ModelNotReady("loading")
        return classify(request)

    w.client.handler = handler  # type: ignore[attr-defined]
    drop(w.folders.inbox, "a.csv", claims_csv(3))
    w.poll()
    (entry,) = w.ledger.unfinished()
    assert entry.attempts == 1 and entry.next_attempt_at > clock.now
    ready["now"] = True
    w.poll()  # not due yet
    assert names(w.folders.archive) == []
    clock.now = entry.next_attempt_at
    w.poll()
    assert names(w.folders.archive) == ["a.csv"] and w.ledger.unfinished() == []


def test_a_restart_finishes_claims_that_never_reached_the_ledger(make_pipeline: MakePipeline) -> None:
    w = watcher(make_pipeline)
    drop(w.folders.inbox, "a.csv", claims_csv(3))
    taken = w.claims.take("a.csv")  # claimed, then "the process died" before hashing
    assert taken is not None
    w.close()
    restarted = watcher(make_pipeline)
    assert names(restarted.folders.archive) == ["a.csv"]
    entry = restarted.ledger.get(
        json.loads((restarted.folders.outbox / "a.manifest.json").read_text())["input"]["sha256"]
    )
    assert entry is not None and entry.state is State.DONE
