"""T9: SIGKILL in the middle of a file, restart: every record exactly once, at most one chunk re-scored,
and a watcher of the outbox never sees a final-named file that is incomplete.

N = 10,000 records, checkpoints every K = 500. The crash point ``mid_chunk:9`` kills the process after
chunk 9 (records 4,001-4,500) was scored and half written, uncommitted: "about 4,200 records". Inference
goes through a real ``bridgeway serve`` whose ModelStatistics count every row it ran.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from pathlib import Path

from tests.fault.files.conftest import claims_csv, files_pipeline, inference_count, read_rows
from tests.support.bridgeway_run import drop, run_process, start, wait_for, write_config
from tests.support.gateway_process import GatewayProcess

N = 10_000
K = 500


class OutboxWatcher:
    """Polls the outbox every 10 ms; every final-named result must parse and hold all N records."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.bad: list[str] = []
        self.seen = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stop.wait(0.01):
            for path in self.outbox.glob("*.result.csv") if self.outbox.exists() else []:
                try:
                    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
                except (OSError, UnicodeDecodeError, csv.Error) as exc:
                    self.bad.append(f"{path.name}: {exc}")
                    continue
                self.seen += 1
                if len(rows) != N or any(len(r) != len(rows[0]) or None in r.values() for r in rows):
                    self.bad.append(f"{path.name}: {len(rows)} records")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def test_a_crash_mid_file_resumes_from_the_checkpoint_with_every_record_once(
    tmp_path: Path, serve_gateway: GatewayProcess
) -> None:
    pipeline = files_pipeline(tmp_path, "claims", chunk_rows=K)
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {"inference": {"mode": "remote", "target": serve_gateway.address}, "pipelines": [pipeline]},
    )
    outbox = tmp_path / "claims" / "outbox"
    watcher = OutboxWatcher(outbox)
    before = inference_count(serve_gateway)
    crashing = start(config, env={"BRIDGEWAY_TEST_CRASH_AT": "mid_chunk:9"})
    try:
        wait_for(lambda: crashing.events("watching"), 60)
        drop(tmp_path / "claims" / "inbox", "claims.csv", claims_csv(N))
        assert crashing.process.wait(timeout=60) == -9
    finally:
        crashing.kill()
    temporaries = list(outbox.glob(".*.tmp"))
    assert temporaries and not list(outbox.glob("*.result.csv"))  # only the hidden, partial temporary
    with run_process(config) as restarted:
        wait_for((outbox / "claims.manifest.json").exists, 60)
        assert restarted.stop() == 0
        assert restarted.events("resumed")[0]["after_record"] == 8 * K
    watcher.close()
    rows = read_rows(outbox / "claims.result.csv")
    keys = Counter(r["claim_id"] for r in rows)
    assert len(rows) == N
    assert [k for k, n in keys.items() if n > 1] == []  # 0 duplicate record keys
    assert len(keys) == N  # 0 missing
    assert [int(r["record_no"]) for r in rows] == list(range(1, N + 1))
    reinferred = inference_count(serve_gateway) - before - N
    assert 0 <= reinferred <= K
    assert watcher.bad == [] and watcher.seen > 0
