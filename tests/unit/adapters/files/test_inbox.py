"""The inbox scan: which entries are ready, which wait, which are refused without being opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.files.inbox import Inbox
from tests.unit.adapters.files.conftest import MakePipeline


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def inbox(make_pipeline: MakePipeline, clock: Clock | None = None, **source: object) -> Inbox:
    pipeline = make_pipeline(**source)
    pipeline.source.inbox.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
    return Inbox(pipeline.source, lambda name: [name + ".result.csv"], clock or Clock())  # type: ignore[arg-type]


def test_rename_mode_takes_every_matching_file_oldest_first_and_skips_hidden_ones(
    make_pipeline: MakePipeline,
) -> None:
    box = inbox(make_pipeline, ready="rename", pattern="*.csv")
    for i, name in enumerate(["b.csv", "a.csv", ".partial.csv", "notes.txt"]):
        (box.folder / name).write_text("x")
        os.utime(box.folder / name, ns=(i * 10**9, i * 10**9))
    scan = box.scan()
    assert scan.ready == ["b.csv", "a.csv"] and scan.refused == []


def test_done_file_mode_waits_for_a_done_file_that_is_not_older_than_the_data(
    make_pipeline: MakePipeline,
) -> None:
    box = inbox(make_pipeline, ready="done-file", pattern="*")
    data = box.folder / "x.csv"
    data.write_text("x")
    assert box.scan().ready == []
    marker = box.done_file("x.csv")
    marker.write_text("")
    os.utime(data, ns=(2 * 10**9, 2 * 10**9))
    os.utime(marker, ns=(10**9, 10**9))  # left over from an earlier drop: the new file may still grow
    assert box.scan().ready == []
    os.utime(marker, ns=(3 * 10**9, 3 * 10**9))
    assert box.scan().ready == ["x.csv"]  # and the done file itself is never a candidate


def test_stable_mode_waits_until_size_and_time_have_not_changed_for_the_window(
    make_pipeline: MakePipeline,
) -> None:
    clock = Clock()
    box = inbox(make_pipeline, clock, ready="stable", stable_seconds=5.0)
    data = box.folder / "x.csv"
    data.write_text("x")
    assert box.scan().ready == []
    clock.now += 4.0
    assert box.scan().ready == []
    with data.open("a") as handle:
        handle.write("more")  # it grew: the window starts again
    clock.now += 4.0
    assert box.scan().ready == []
    clock.now += 5.0
    assert box.scan().ready == ["x.csv"]


def test_links_and_special_files_are_refused_without_being_opened(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    box = inbox(make_pipeline)
    outside = tmp_path / "outside.csv"
    outside.write_text("secret")
    (box.folder / "link.csv").symlink_to(outside)
    os.link(outside, box.folder / "hard.csv")
    (box.folder / "folder.csv").mkdir()
    os.mkfifo(box.folder / "pipe.csv")
    reasons = {r.raw: r.reason for r in box.scan().refused}
    assert reasons[b"link.csv"] == "a symbolic link; links are never followed"
    assert reasons[b"hard.csv"].startswith("a hard link: the file has 2 names")
    assert reasons[b"folder.csv"] == "not a regular file (a folder)"
    assert reasons[b"pipe.csv"] == "not a regular file (a named pipe)"


@pytest.mark.parametrize("raw", [b"bad\nname.csv", b"\xff\xfe.csv", "x\u202e.csv".encode()])
def test_hostile_names_are_refused(make_pipeline: MakePipeline, raw: bytes) -> None:
    box = inbox(make_pipeline)
    with open(os.path.join(bytes(box.folder), raw), "wb") as handle:
        handle.write(b"x")
    (refused,) = box.scan().refused
    assert refused.raw == raw and "the name" in refused.reason
