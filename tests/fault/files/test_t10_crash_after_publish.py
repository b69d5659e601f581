"""T10: SIGKILL after the result is published and before the input is archived; restart.

After the restart: exactly one result for the input, byte-identical to what was published (and equal to a
clean run's in every column but the run's own id and time), the input archived, the ledger DONE, and no
record scored again (the gateway's statistics count every row it ran).
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.fault.files.conftest import claims_csv, files_pipeline, inference_count, read_rows
from tests.support.bridgeway_run import drop, run_process, score, start, wait_for, write_config
from tests.support.gateway_process import GatewayProcess

N = 2_000
VOLATILE = {"run_id", "processed_at"}


def test_a_crash_between_publish_and_archive_is_finished_without_scoring_again(
    tmp_path: Path, serve_gateway: GatewayProcess
) -> None:
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {
            "inference": {"mode": "remote", "target": serve_gateway.address},
            "pipelines": [files_pipeline(tmp_path, "claims", chunk_rows=500)],
        },
    )
    data = claims_csv(N)
    outbox, archive = tmp_path / "claims" / "outbox", tmp_path / "claims" / "archive"
    crashing = start(config, env={"BRIDGEWAY_TEST_CRASH_AT": "after_publish"})
    try:
        wait_for(lambda: crashing.events("watching"), 60)
        drop(tmp_path / "claims" / "inbox", "claims.csv", data)
        assert crashing.process.wait(timeout=60) == -9
    finally:
        crashing.kill()
    result = outbox / "claims.result.csv"
    published = hashlib.sha256(result.read_bytes()).hexdigest()
    assert not (archive / "claims.csv").exists()
    counted = inference_count(serve_gateway)
    with run_process(config) as restarted:
        wait_for((archive / "claims.csv").exists, 60)
        assert restarted.stop() == 0
    assert inference_count(serve_gateway) == counted  # 0 re-inference
    assert sorted(p.name for p in outbox.iterdir()) == ["claims.manifest.json", "claims.result.csv"]
    assert hashlib.sha256(result.read_bytes()).hexdigest() == published
    sha = hashlib.sha256(data).hexdigest()
    with closing(sqlite3.connect(tmp_path / "claims" / "work" / "claims" / "ledger.sqlite")) as ledger:
        assert ledger.execute("SELECT state FROM files WHERE sha256 = ?", (sha,)).fetchall() == [("DONE",)]
    clean = tmp_path / "clean.csv"
    (tmp_path / "claims.csv").write_bytes(data)
    done = score(
        [
            str(tmp_path / "claims.csv"),
            "-o",
            str(clean),
            "--model",
            "breast-cancer",
            "--gateway",
            serve_gateway.address,
            "--carry",
            "claim_id",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr

    def stable(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]

    assert stable(read_rows(result)) == stable(read_rows(clean))
