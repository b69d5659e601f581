"""T8: a file written straight into the inbox, growing in chunks, is read only once it is complete.

Scaled from the table's 50 MB in 1 MB chunks every 200 ms to 2,000 fixed-width records (500 KB) in 10
chunks every 100 ms. The file ends with a trailer record holding its record count, so a partial read would
fail the trailer check (or the framing) and send the file to errors/ instead of producing a result.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fault.files.conftest import (
    TRAILER_COPYBOOK,
    files_pipeline,
    fixed_input,
    mainframe_records,
    trailer,
)
from tests.support.bridgeway_run import run_process, wait_for, write_config
from tests.support.models import MODELS_DIR

RECORDS = 2_000
CHUNKS = 10
INTERVAL_S = 0.1


def grow(path: Path, data: bytes) -> float:
    """Append ``data`` to ``path`` in CHUNKS pieces, INTERVAL_S apart; returns when the last one landed."""
    step = -(-len(data) // CHUNKS)
    with path.open("wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            time.sleep(INTERVAL_S)
    return time.time()


def claimed_at(lines: list[dict[str, Any]], name: str) -> float:
    (event,) = [e for e in lines if e.get("event") == "claimed" and e.get("file") == name]
    return datetime.fromisoformat(event["time"]).timestamp()


@pytest.mark.parametrize("mode", ["done-file", "stable"])
def test_a_growing_file_is_not_read_before_it_is_complete(tmp_path: Path, mode: str) -> None:
    (tmp_path / "trailer.cpy").write_text(TRAILER_COPYBOOK)
    source = {"ready": mode, "stable_seconds": 1.0}
    spec = fixed_input(trailer_copybook=str(tmp_path / "trailer.cpy"), trailer_count_field="TRL-COUNT")
    output = {"format": "csv", "carry": ["claim_id"]}
    config = {
        "models": str(MODELS_DIR),
        "pipelines": [files_pipeline(tmp_path, "mf", source=source, input=spec, output=output)],
    }
    data = mainframe_records(RECORDS) + trailer(RECORDS)
    inbox = tmp_path / "mf" / "inbox"
    inbox.mkdir(parents=True)
    with run_process(write_config(tmp_path / "bridgeway.yaml", config)) as process:
        complete_at = grow(inbox / "CLAIMS.DAT", data)
        if mode == "done-file":
            time.sleep(0.3)  # a slow sender: the data is complete, the done file comes later
            complete_at = time.time()
            (inbox / "CLAIMS.DAT.done").touch()
        manifest = tmp_path / "mf" / "outbox" / "CLAIMS.manifest.json"
        wait_for(manifest.exists, 60)
        assert process.stop() == 0
    document = json.loads(manifest.read_text())
    assert document["records"] == {"total": RECORDS, "scored": RECORDS, "rejected": 0}
    assert list((tmp_path / "mf" / "errors").iterdir()) == []
    claimed = claimed_at(process.log_lines, "CLAIMS.DAT")
    window = 1.0 if mode == "stable" else 0.0
    # Stability is judged on file mtimes, whose granularity is coarser than the clock.
    assert claimed >= complete_at + window - 0.1
