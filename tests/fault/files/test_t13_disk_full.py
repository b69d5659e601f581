"""T13: the outbox's disk is full (ENOSPC on every write and fsync) for a while.

While it is full: no result is visible under a final name, the input is not archived, and the file is
retried with backoff. Once space is back the file completes on its own with every record. The full disk is
``BRIDGEWAY_TEST_ENOSPC_FILE`` (adapters/files/faults.py): writes fail while that file exists. Scaled from
10 s to 2 s of full disk.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.fault.files.conftest import claims_csv, files_pipeline, read_rows
from tests.support.bridgeway_run import drop, run_process, wait_for, write_config
from tests.support.models import MODELS_DIR

N = 2_000
FULL_FOR_S = 2.0


def test_a_full_disk_delays_the_result_without_a_partial_output_or_a_lost_record(tmp_path: Path) -> None:
    switch = tmp_path / "disk-is-full"
    switch.touch()
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {"models": str(MODELS_DIR), "pipelines": [files_pipeline(tmp_path, "claims", chunk_rows=500)]},
    )
    outbox, archive = tmp_path / "claims" / "outbox", tmp_path / "claims" / "archive"
    with run_process(config, env={"BRIDGEWAY_TEST_ENOSPC_FILE": str(switch)}) as process:
        drop(tmp_path / "claims" / "inbox", "claims.csv", claims_csv(N))
        wait_for(lambda: len(process.events("retrying later")) >= 2, 30)
        deadline = time.monotonic() + FULL_FOR_S
        while time.monotonic() < deadline:
            visible = [p.name for p in outbox.glob("*")] if outbox.exists() else []
            assert [name for name in visible if not name.startswith(".")] == []  # 0 partial outputs
            assert not (archive / "claims.csv").exists()  # input not archived
            time.sleep(0.05)
        switch.unlink()
        wait_for((outbox / "claims.manifest.json").exists, 60)
        assert process.stop() == 0
    retries = process.events("retrying later")
    assert all("No space left on device" in e["reason"] for e in retries)
    assert len(read_rows(outbox / "claims.result.csv")) == N
    assert json.loads((outbox / "claims.manifest.json").read_text())["records"]["scored"] == N
    assert (archive / "claims.csv").exists()
    assert [p.name for p in outbox.iterdir() if p.name.startswith(".")] == []
