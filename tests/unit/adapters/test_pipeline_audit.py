"""adapters.audit: one audit event per file and per message, with lineage and without record values."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.audit import PipelineAudit, open_audit_log
from gateway.audit import verify_chain


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_file_event_names_the_file_its_records_and_every_version_that_scored_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_audit_log(path, 0, "batch") as log:
        audit = PipelineAudit(log, "erp-claims", "breast-cancer:2")
        audit.file_finished(
            name="claims.csv",
            sha256="ab" * 32,
            scored=9,
            rejected=1,
            models={"10": "cc" * 32, "9": "bb" * 32},
            outcome="OK",
            seconds=1.5,
            run_id="run-1",
        )
    (event,) = _events(path)
    assert (event["who"], event["model"], event["outcome"], event["source"]) == (
        "files:erp-claims",
        "breast-cancer",
        "OK",
        "pipelines",
    )
    assert (event["model_version"], event["model_sha256"]) == ("9,10", f"{'bb' * 32},{'cc' * 32}")
    assert event["input_ref"] == {
        "file": "claims.csv",
        "sha256": "ab" * 32,
        "records": [1, 10],
        "scored": 9,
        "rejected": 1,
    }
    assert event["latency_ms"] == 1500.0 and event["run_id"] == "run-1"
    assert verify_chain([path]).events == 1


def test_a_message_event_comes_from_the_settled_event_and_names_the_amqp_user(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_audit_log(path, 0, "batch") as log:
        audit = PipelineAudit(log, "scoring-queue", "breast-cancer")
        audit.amqp_events("received", {"key": "m-1", "redelivered": False})
        audit.amqp_events("request_acked", {"key": "m-1"})
        audit.amqp_events(
            "settled",
            {
                "key": "m-1",
                "outcome": "OK",
                "message_id": "m-1",
                "correlation_id": "c-1",
                "user_id": "erp",
                "body_sha256": "dd" * 32,
                "model": "breast-cancer",
                "model_version": "2",
                "model_sha256": "ee" * 32,
            },
        )
        audit.amqp_events("settled", {"key": "m-2", "outcome": "DEAD_LETTERED:poison", "message_id": "m-2"})
    first, second = _events(path)
    assert (first["who"], first["request_id"], first["model_version"]) == ("amqp:erp", "m-1", "2")
    assert first["input_ref"] == {"message_id": "m-1", "correlation_id": "c-1", "body_sha256": "dd" * 32}
    assert (second["who"], second["outcome"], second["model_version"]) == (
        "amqp:scoring-queue",
        "DEAD_LETTERED:poison",
        "",
    )


def test_without_an_audit_log_nothing_is_recorded() -> None:
    audit = PipelineAudit(None, "p", "m")
    assert not audit.enabled
    audit.file_finished(name="f", sha256="", scored=0, rejected=0, models={}, outcome="OK", seconds=0)
    audit.amqp_events("settled", {"key": "k"})
