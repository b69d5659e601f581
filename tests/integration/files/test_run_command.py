"""``bridgeway run`` as a process: the gateway and pipelines of every format, remote mode, clean stop."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.client.remote import RemoteInferenceClient
from tests.integration.files.conftest import SAMPLES, expected_claims
from tests.support.bridgeway_run import LAUNCH, drop, run_process, wait_for, write_config
from tests.support.gateway_process import GatewayProcess
from tests.support.models import MODELS_DIR


def files_source(base: Path, name: str, **extra: Any) -> dict[str, Any]:
    folders = {role: str(base / name / role) for role in ("inbox", "outbox", "archive", "errors")}
    return {"kind": "files", **folders, "poll_interval": 0.05, **extra}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_gateway_and_a_pipeline_per_format_run_until_sigterm_and_exit_0(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "models": str(MODELS_DIR),
            "gateway": {"host": "127.0.0.1", "port": 0, "metrics_port": 0},
            "inference": {"mode": "local"},
            "pipelines": [
                {
                    "name": "claims",
                    "model": "breast-cancer",
                    "input": {"format": "csv"},
                    "source": files_source(tmp_path, "claims", pattern="*.csv", ready="done-file"),
                    "output": {"format": "csv", "carry": ["claim_id"]},
                },
                {
                    "name": "patients",
                    "model": "diabetes-risk",
                    "input": {"format": "csv"},
                    "source": files_source(tmp_path, "patients", ready="rename"),
                    "output": {"format": "jsonl", "carry": ["patient_id"]},
                },
                {
                    "name": "mainframe",
                    "model": "breast-cancer",
                    "source": files_source(tmp_path, "mainframe", ready="stable", stable_seconds=0.3),
                    "input": {
                        "format": "fixed",
                        "copybook": str(SAMPLES / "breast-cancer-claims.cpy"),
                        "record_format": "FB",
                    },
                    "output": {
                        "format": "fixed",
                        "result_copybook": str(SAMPLES / "breast-cancer-result.cpy"),
                        "carry": ["claim_id"],
                    },
                },
            ],
        },
    )
    with run_process(config) as process:
        (listening,) = process.events("listening")
        with RemoteInferenceClient([f"127.0.0.1:{listening['port']}"]) as client:
            assert client.model_ready("breast-cancer") and client.model_ready("diabetes-risk")
        drop(
            tmp_path / "claims" / "inbox",
            "claims.csv",
            (SAMPLES / "breast-cancer-claims.csv").read_bytes(),
            ".done",
        )
        drop(
            tmp_path / "patients" / "inbox", "patients.csv", (SAMPLES / "diabetes-patients.csv").read_bytes()
        )
        drop(
            tmp_path / "mainframe" / "inbox",
            "CLAIMS.DAT",
            (SAMPLES / "breast-cancer-claims.dat").read_bytes(),
        )
        outputs = [
            tmp_path / "claims" / "outbox" / "claims.manifest.json",
            tmp_path / "patients" / "outbox" / "patients.manifest.json",
            tmp_path / "mainframe" / "outbox" / "CLAIMS.manifest.json",
        ]
        wait_for(lambda: all(p.exists() for p in outputs), 60)
        assert process.stop() == 0, process.tail()
    rows = read_csv(tmp_path / "claims" / "outbox" / "claims.result.csv")
    expected = expected_claims()
    assert {r["claim_id"]: int(r["label"]) for r in rows} == {k: v[0] for k, v in expected.items()}
    patients_file = tmp_path / "patients" / "outbox" / "patients.result.jsonl"
    patients = [json.loads(line) for line in patients_file.read_text().splitlines()]
    assert len(patients) == 200 and {p["risk"] for p in patients} <= {"high", "low"}
    assert (tmp_path / "mainframe" / "outbox" / "CLAIMS.result.DAT").stat().st_size == 200 * 80
    for manifest in outputs:
        document = json.loads(manifest.read_text())
        assert document["records"] == {"total": 200, "scored": 200, "rejected": 0}
    assert not (tmp_path / "claims" / "inbox" / "claims.csv.done").exists()
    assert [e["event"] for e in process.log_lines].count("stopped") >= 3


def test_remote_mode_scores_through_a_separate_gateway(tmp_path: Path, serve_gateway: GatewayProcess) -> None:
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "inference": {"mode": "remote", "target": serve_gateway.address},
            "pipelines": [
                {
                    "name": "claims",
                    "model": "breast-cancer",
                    "input": {"format": "csv"},
                    "source": files_source(tmp_path, "claims", ready="rename"),
                    "output": {"format": "csv", "carry": ["claim_id"]},
                }
            ],
        },
    )
    with run_process(config) as process:
        drop(tmp_path / "claims" / "inbox", "a.csv", (SAMPLES / "breast-cancer-claims.csv").read_bytes())
        result = tmp_path / "claims" / "outbox" / "a.result.csv"
        wait_for(lambda: result.exists(), 60)
        assert process.stop() == 0
    expected = expected_claims()
    for row in read_csv(result):
        assert float(row["p_malignant"]) == pytest.approx(expected[row["claim_id"]][1], abs=1e-6)


def test_a_config_mistake_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bridgeway.yaml"
    config.write_text(
        "pipelines:\n  - name: x\n    model: m\n"
        "    source: {kind: files, inbox: in}\n    input: {format: csv}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "bridgeway.yaml:4: pipelines[0] (x).source.outbox: required key is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_model_is_a_start_up_error(tmp_path: Path) -> None:
    shutil.copytree(MODELS_DIR / "tiny-sum", tmp_path / "models" / "tiny-sum")
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "models": "models",
            "pipelines": [
                {
                    "name": "claims",
                    "model": "breast-cancer",
                    "input": {"format": "csv"},
                    "source": files_source(tmp_path, "claims"),
                }
            ],
        },
    )
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown model 'breast-cancer'" in done.stderr and "Traceback" not in done.stderr
