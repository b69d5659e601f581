"""Outputs appear only complete: temporary names, truncation back to the committed length, no links."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

import pytest

from adapters.files.faults import FaultPlan
from adapters.files.outbox import OutputFile, ResumeError, free_name, publish, temporary, write_atomic


def test_an_output_is_written_under_a_hidden_temporary_name_and_published_by_rename(tmp_path: Path) -> None:
    final = tmp_path / "x.result.csv"
    with OutputFile(temporary(final)) as out:
        out.create(b"header\n")
        out.write(b"row\n")
        assert out.sync() == 11
    assert not final.exists() and temporary(final).name == ".x.result.csv.tmp"
    assert publish(temporary(final), final) is True
    assert final.read_bytes() == b"header\nrow\n"
    assert stat.S_IMODE(final.stat().st_mode) & 0o137 == 0
    assert publish(temporary(final), final) is False  # already published: nothing to do


def test_resuming_cuts_the_output_back_to_the_committed_length(tmp_path: Path) -> None:
    path = tmp_path / ".x.tmp"
    with OutputFile(path) as out:
        out.create(b"committed|")
        out.sync()
        out.write(b"not committed")
    with OutputFile(path) as out:
        out.resume(10)
        out.write(b"next")
    assert path.read_bytes() == b"committed|next"


def test_an_output_shorter_than_its_committed_length_cannot_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / ".x.tmp"
    path.write_bytes(b"short")
    with pytest.raises(ResumeError, match="fewer than the 10 committed"), OutputFile(path) as out:
        out.resume(10)
    with pytest.raises(ResumeError, match="is gone"), OutputFile(tmp_path / ".missing.tmp") as out:
        out.resume(0)


def test_a_link_planted_at_the_temporary_name_is_replaced_not_followed(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_bytes(b"untouched")
    final = tmp_path / "out" / "x.csv"
    final.parent.mkdir()
    temporary(final).symlink_to(canary)
    write_atomic(final, b"result")
    assert canary.read_bytes() == b"untouched" and final.read_bytes() == b"result"


def test_a_full_disk_fails_writes_and_syncs_while_the_fault_file_exists(tmp_path: Path) -> None:
    switch = tmp_path / "disk-full"
    switch.touch()
    with OutputFile(tmp_path / ".x.tmp", FaultPlan(enospc_file=switch)) as out:
        with pytest.raises(OSError) as caught:
            out.create(b"x")
        assert caught.value.errno == errno.ENOSPC
        switch.unlink()
        out.create(b"x")
        assert out.sync() == 1


def test_a_free_name_never_overwrites_an_earlier_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").touch()
    assert free_name(tmp_path, "b.csv", "t") == tmp_path / "b.csv"
    assert free_name(tmp_path, "a.csv", "t") == tmp_path / "a.t.csv"
    (tmp_path / "a.t.csv").touch()
    assert free_name(tmp_path, "a.csv", "t") == tmp_path / "a.t-2.csv"
    assert free_name(tmp_path, "README", "t") == tmp_path / "README"
