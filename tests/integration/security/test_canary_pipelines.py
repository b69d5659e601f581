"""T16 over the pipelines: records carrying canary personal data, through a files pipeline and an AMQP
pipeline of one real ``bridgeway run`` (DEBUG logging), leave no trace of it in any log line or in the
audit log, which holds one verifiable event per file and per message.

Half the records go through a CSV file, half through RabbitMQ messages; a few carry the canary in a field
the model needs, so they are rejected (rejects file / dead letter), which is where values most easily leak.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from gateway.audit import verify_chain
from tests.integration.security.conftest import CANARY_EMAIL, CANARY_SSN
from tests.support.amqp_adapter import Names
from tests.support.amqp_client import ResultCollector, publish_confirmed, request_properties
from tests.support.bridgeway_run import drop, run_process, wait_for, write_config
from tests.support.broker import Broker

MODELS = Path(__file__).resolve().parents[3] / "models"
SAMPLES = MODELS / "samples" / "breast-cancer-claims.csv"
PER_PIPELINE = 500
BAD_EVERY = 50  # every 50th record puts the canary where the model needs a number


def _sample_rows() -> list[dict[str, str]]:
    with SAMPLES.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _records() -> list[dict[str, str]]:
    samples = _sample_rows()
    records = []
    for index in range(PER_PIPELINE):
        row = dict(samples[index % len(samples)])
        row["claim_id"] = f"CLM-{index:05d}"
        row["national_id"] = CANARY_SSN
        row["email"] = CANARY_EMAIL
        if index % BAD_EVERY == 0:
            row["mean_texture"] = CANARY_SSN
        records.append(row)
    return records


def _roles(folders: dict[str, Path]) -> dict[str, object]:
    """A files source over ``folders``, picking up ``*.csv`` as soon as it is renamed in."""
    return {
        "inbox": str(folders["in"]),
        "outbox": str(folders["out"]),
        "archive": str(folders["archive"]),
        "errors": str(folders["errors"]),
        "work": str(folders["work"]),
        "pattern": "*.csv",
        "ready": "rename",
        "poll_interval": 0.1,
    }


def _csv(records: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def test_t16_canary_personal_data_in_files_and_messages_never_reaches_a_log(
    broker: Broker, tmp_path: Path
) -> None:
    names = Names.create(broker)
    folders = {role: tmp_path / "erp" / role for role in ("in", "out", "archive", "errors", "work")}
    strict = {role: tmp_path / "strict" / role for role in ("in", "out", "archive", "errors", "work")}
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "models": str(MODELS),
            "inference": {"mode": "local"},
            "logging": {"level": "DEBUG", "mask": ["national_id", "email"]},
            "audit": {"log": str(tmp_path / "audit" / "pipelines.jsonl")},
            "pipelines": [
                {
                    "name": "erp-claims",
                    "model": "breast-cancer",
                    "source": {"kind": "files", **_roles(folders)},
                    "input": {"format": "csv"},
                    "output": {"format": "csv", "carry": ["claim_id"]},
                },
                {  # a bad record sends the whole file to errors/, with a reason naming it
                    "name": "erp-strict",
                    "model": "breast-cancer",
                    "on_bad_record": "fail",
                    "source": {"kind": "files", **_roles(strict)},
                    "input": {"format": "csv"},
                    "output": {"format": "csv", "carry": ["claim_id"]},
                },
                {
                    "name": "scoring-queue",
                    "model": "breast-cancer",
                    "source": {
                        "kind": "amqp",
                        "url": broker.url,
                        "queue": names.requests,
                        "dead_letter_exchange": names.dlx,
                        "state_dir": str(tmp_path / "amqp-state"),
                    },
                    "input": {"format": "json"},
                    "output": {"format": "json"},
                },
            ],
        },
    )
    records = _records()
    bad = sum(1 for index in range(PER_PIPELINE) if index % BAD_EVERY == 0)
    with run_process(config) as process, ResultCollector(broker.url, names.replies) as results:
        drop(folders["in"], "claims.csv", _csv(records))
        drop(strict["in"], "strict.csv", _csv(records[:BAD_EVERY]))
        # The pipeline declares its request queue once connected: publish after that, or nothing routes.
        wait_for(lambda: any("consuming" in str(line.get("event")) for line in process.log_lines), 60)
        messages = [
            (json.dumps(r).encode(), request_properties(f"msg-{i}", reply_to=names.replies))
            for i, r in enumerate(records)
        ]
        assert len(publish_confirmed(broker.url, names.requests, messages)) == PER_PIPELINE  # type: ignore[arg-type]
        wait_for(lambda: list(folders["archive"].glob("claims*")), timeout_s=120)
        wait_for(lambda: list(strict["errors"].glob("strict.csv*")), timeout_s=120)
        assert results.wait_for(PER_PIPELINE - bad, timeout_s=120)
        exit_code = process.stop()

    assert exit_code == 0
    result_files = list(folders["out"].glob("*.csv"))
    assert result_files, "the files pipeline published no result"
    leaks = Counter(
        f"{line.get('logger')}: {str(line.get('event'))[:60]}"
        for line in process.log_lines
        for canary in (CANARY_SSN, CANARY_EMAIL)
        if canary in json.dumps(line)
    )
    assert not leaks, leaks.most_common(10)
    _check_audit(tmp_path / "audit" / "pipelines.jsonl", bad)


def _check_audit(path: Path, bad: int) -> None:
    text = path.read_text(encoding="utf-8")
    assert CANARY_SSN not in text and CANARY_EMAIL not in text
    events = [json.loads(line) for line in text.splitlines()]
    files = [e for e in events if e["pipeline"] == "erp-claims"]
    failed = [e for e in events if e["pipeline"] == "erp-strict"]
    assert [e["outcome"] for e in failed] == ["FAILED"]
    messages = [e for e in events if e["pipeline"] == "scoring-queue"]
    assert len(files) == 1 and files[0]["outcome"] == "OK"
    assert files[0]["input_ref"]["records"] == [1, PER_PIPELINE]
    assert files[0]["input_ref"]["rejected"] == bad
    assert files[0]["model_version"] and len(files[0]["model_sha256"]) == 64
    assert len(messages) == PER_PIPELINE == len({e["request_id"] for e in messages})
    outcomes = Counter(e["outcome"] for e in messages)
    assert outcomes["OK"] == PER_PIPELINE - bad
    assert sum(n for outcome, n in outcomes.items() if outcome.startswith("DEAD_LETTERED")) == bad
    ok = next(e for e in messages if e["outcome"] == "OK")
    assert ok["model_version"] and len(ok["model_sha256"]) == 64 and len(ok["input_ref"]["body_sha256"]) == 64
    assert verify_chain([path]).events == len(events)
