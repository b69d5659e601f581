"""``bridgeway run`` with an amqp pipeline: the real CLI, the real breast-cancer model, a real broker."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest

from tests.support.amqp_adapter import Names
from tests.support.amqp_client import ResultCollector, publish_confirmed, request_properties
from tests.support.bridgeway_run import run_process, wait_for, write_config
from tests.support.broker import Broker
from tests.support.models import MODELS_DIR, open_session

pytestmark = pytest.mark.integration


def _without_password(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), parts.password or ""


def test_bridgeway_run_scores_queue_requests_with_the_served_model_and_stops_cleanly_on_sigterm(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    url, password = _without_password(broker.url)
    source = {
        "kind": "amqp", "url": url, "password_env": "BW_TEST_BROKER_PASSWORD", "queue": names.requests,
        "prefetch": 64, "batch": {"max_messages": 16, "max_wait_ms": 5}, "state_dir": str(tmp_path / "state"),
    }  # fmt: skip
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "models": str(MODELS_DIR),
            "inference": {"mode": "local"},
            "pipelines": [
                {
                    "name": "scoring-queue",
                    "model": "breast-cancer",
                    "source": source,
                    "input": {"format": "json"},
                    "output": {"format": "json", "carry": ["claim_id"]},
                }
            ],
        },
    )
    with open(MODELS_DIR / "samples" / "breast-cancer-claims.csv", newline="", encoding="utf-8") as sample:
        rows = [
            {k: v if k == "claim_id" else float(v) for k, v in row.items()} for row in csv.DictReader(sample)
        ]
    records = rows[:5]
    with run_process(config, env={"BW_TEST_BROKER_PASSWORD": password}) as process:
        wait_for(lambda: any("amqp: consuming" in str(line.get("event")) for line in process.log_lines), 60)
        with ResultCollector(broker.url, names.replies) as results:
            props = request_properties("run-1", reply_to=names.replies)
            assert publish_confirmed(broker.url, names.requests, [(json.dumps(records).encode(), props)])
            assert results.wait_for(1, timeout_s=60), process.tail()
        assert process.stop() == 0
    [result] = results.snapshot()
    replies = json.loads(result.body)
    model_file = MODELS_DIR / "breast-cancer" / "2" / "model.onnx"
    assert [r["claim_id"] for r in replies] == [r["claim_id"] for r in records]
    assert {(r["model_name"], r["model_version"]) for r in replies} == {("breast-cancer", "2")}
    assert {r["model_sha256"] for r in replies} == {hashlib.sha256(model_file.read_bytes()).hexdigest()}
    fields = [f for f in rows[0] if f != "claim_id"]
    features = np.array([[r[f] for f in fields] for r in records], dtype=np.float32)
    label, probabilities = open_session(model_file).run(None, {"features": features})
    assert [r["label"] for r in replies] == label.tolist()
    assert [r["p_malignant"] for r in replies] == pytest.approx(probabilities[:, 1].tolist(), abs=1e-6)
    assert broker.message_count(names.requests) == 0
