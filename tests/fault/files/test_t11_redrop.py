"""T11: the same bytes dropped again (same name, new name) make no new output and are logged as
duplicates; the same name with different bytes makes one new output carrying the new content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.fault.files.conftest import claims_csv, files_pipeline, read_rows
from tests.support.bridgeway_run import drop, run_process, wait_for, write_config
from tests.support.models import MODELS_DIR


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in folder.iterdir()
    }


def test_identical_bytes_are_not_scored_again_and_changed_bytes_are(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bridgeway.yaml",
        {"models": str(MODELS_DIR), "pipelines": [files_pipeline(tmp_path, "claims")]},
    )
    inbox, outbox, archive = (tmp_path / "claims" / r for r in ("inbox", "outbox", "archive"))
    first, changed = claims_csv(300), claims_csv(301)
    with run_process(config) as process:
        drop(inbox, "a.csv", first)
        wait_for((outbox / "a.manifest.json").exists, 60)
        before = snapshot(outbox)
        drop(inbox, "a.csv", first)
        wait_for(lambda: len(process.events("duplicate")) == 1, 60)
        drop(inbox, "renamed.csv", first)
        wait_for(lambda: len(process.events("duplicate")) == 2, 60)
        assert snapshot(outbox) == before  # 0 new outputs
        assert {e["file"] for e in process.events("duplicate")} == {"a.csv", "renamed.csv"}
        drop(inbox, "a.csv", changed)
        new_sha = hashlib.sha256(changed).hexdigest()
        wait_for(
            lambda: json.loads((outbox / "a.manifest.json").read_text())["input"]["sha256"] == new_sha, 60
        )
        assert process.stop() == 0
    assert sorted(snapshot(outbox)) == sorted(before)  # the same names: replaced, not added
    rows = read_rows(outbox / "a.result.csv")
    assert len(rows) == 301 and {r["input_sha256"] for r in rows} == {new_sha}
    assert len(process.events("claimed")) == 2
    assert len(list(archive.iterdir())) == 4  # both originals and both duplicates are kept
