"""T12: 20 crafted inbox entries (links, special files, hostile names) are refused without being read; a
canary outside the configured folders is never read or written; the adapter keeps running."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.fault.files.conftest import claims_csv, files_pipeline, read_rows
from tests.support.bridgeway_run import drop, run_process, wait_for, write_config
from tests.support.models import MODELS_DIR

NAMES = [
    b"new\nline.csv",
    b"tab\tname.csv",
    b"carriage\rreturn.csv",
    b"\x1b[31mred.csv",
    b"del\x7f.csv",
    b"bell\x07.csv",
    b"\xff\xfe.csv",
    b"caf\xe9.csv",
    "invoice\u202evsc.exe".encode(),
    "zero\u200bwidth.csv".encode(),
    "line\u2028sep.csv".encode(),
    b"a" * 250 + b".csv",
]


def fingerprint(path: Path) -> tuple[str, int]:
    """Content and modification time: what a write would change."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def craft(inbox: Path, outside: Path) -> int:
    """Create the hostile entries; returns how many."""
    canary = outside / "canary.csv"
    links = {
        b"link-outside.csv": canary,
        b"link-etc.csv": Path("/etc/passwd"),
        b"dangling.csv": outside / "nothing-here.csv",
        b"link-dir.csv": outside,
        b"link-chain.csv": Path("link-outside.csv"),
    }
    for name, target in links.items():
        os.symlink(target, os.path.join(bytes(inbox), name))
    os.link(canary, inbox / "hardlink.csv")
    (inbox / "folder.csv").mkdir()
    os.mkfifo(inbox / "pipe.csv")
    for name in NAMES:
        with open(os.path.join(bytes(inbox), name), "wb") as handle:
            handle.write(claims_csv(3))
    return len(links) + 3 + len(NAMES)


def test_twenty_hostile_entries_go_to_errors_unread_and_a_good_file_is_still_scored(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary.csv").write_bytes(claims_csv(5))
    (outside / "canary-2.csv").write_bytes(b"must not be written\n")
    pipeline = files_pipeline(tmp_path, "claims")
    config = write_config(tmp_path / "bridgeway.yaml", {"models": str(MODELS_DIR), "pipelines": [pipeline]})
    inbox, outbox, errors = (tmp_path / "claims" / r for r in ("inbox", "outbox", "errors"))
    for folder in (inbox, outbox):
        folder.mkdir(parents=True)
    (tmp_path / "claims" / "escape.csv").write_bytes(
        b"a sibling of the inbox, not in it\n"
    )  # what '../x' names
    (outbox / ".good.result.csv.tmp").symlink_to(outside / "canary-2.csv")  # planted at the temporary name
    before = {p.name: fingerprint(p) for p in outside.iterdir()}
    sibling = fingerprint(tmp_path / "claims" / "escape.csv")
    count = craft(inbox, outside)
    assert count == 20
    with run_process(config) as process:
        wait_for(lambda: len(list(errors.glob("*.reason.json"))) == count, 60)
        drop(inbox, "good.csv", claims_csv(10))
        wait_for((outbox / "good.manifest.json").exists, 60)
        assert process.process.poll() is None
        assert process.stop() == 0
    reasons = [json.loads(p.read_text()) for p in errors.glob("*.reason.json")]
    assert len(reasons) == 20 and all(r["reason"].startswith("refused: ") for r in reasons)
    assert len([p for p in errors.iterdir() if not p.name.endswith(".reason.json")]) == 20
    assert {p.name: fingerprint(p) for p in outside.iterdir()} == before
    assert (outside / "canary.csv").stat().st_nlink == 2  # its hard link moved from the inbox to errors/
    assert fingerprint(tmp_path / "claims" / "escape.csv") == sibling
    assert sorted(os.listdir(inbox)) == []
    assert [p.name for p in (tmp_path / "claims" / "archive").iterdir()] == ["good.csv"]
    assert len(read_rows(outbox / "good.result.csv")) == 10
    assert not (outbox / ".good.result.csv.tmp").exists()
