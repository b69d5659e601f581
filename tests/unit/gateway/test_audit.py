"""gateway.audit: the hash-chained audit log, its rotation and restart, and ``verify_chain``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.audit import GENESIS, AuditChainError, AuditLog, event_hash, log_files, verify_chain


def _write(path: Path, count: int, **options: object) -> None:
    with AuditLog(path, **options) as log:  # type: ignore[arg-type]
        for n in range(count):
            log.record(
                who="token:erp-nightly",
                model="breast-cancer",
                model_version="2",
                model_sha256="ab" * 32,
                request_id=f"req-{n}",
                input_ref={"inputs_sha256": f"{n:064x}"},
                outcome="OK",
                latency_ms=1.5,
            )


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_every_event_carries_the_contract_fields_and_chains_to_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 3)
    events = [json.loads(line) for line in _lines(path)]
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert events[0]["prev"] == GENESIS
    assert [e["prev"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    for event in events:
        assert event_hash(event) == event["hash"]
        assert {"time", "who", "model", "model_version", "model_sha256", "request_id", "input_ref"} <= set(
            event
        )
        assert event["time"].endswith("Z")
    assert verify_chain([path]).events == 3


def test_verify_names_the_line_after_a_removed_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 5)
    lines = _lines(path)
    path.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    with pytest.raises(AuditChainError) as caught:
        verify_chain([path])
    assert caught.value.line == 3
    assert "removed" in caught.value.reason


def test_verify_catches_a_removed_first_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 3)
    path.write_text("".join(_lines(path)[1:]), encoding="utf-8")
    with pytest.raises(AuditChainError) as caught:
        verify_chain([path])
    assert caught.value.line == 1


def test_verify_names_an_edited_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4)
    lines = _lines(path)
    lines[2] = lines[2].replace('"model_version":"2"', '"model_version":"1"')
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AuditChainError) as caught:
        verify_chain([path])
    assert (caught.value.line, "altered" in caught.value.reason) == (3, True)


def test_verify_catches_an_edited_line_whose_hash_was_recomputed(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4)
    lines = _lines(path)
    event = json.loads(lines[1])
    event["outcome"] = "PERMISSION_DENIED"
    event["hash"] = event_hash(event)
    lines[1] = json.dumps(event) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AuditChainError) as caught:
        verify_chain([path])
    assert caught.value.line == 3  # the next line no longer follows it


def test_verify_catches_two_swapped_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AuditChainError) as caught:
        verify_chain([path])
    assert caught.value.line == 2


def test_verify_with_a_recorded_head_catches_lines_cut_off_the_end(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4)
    lines = _lines(path)
    head = json.loads(lines[-1])["hash"]
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    assert verify_chain([path]).events == 3  # the chain alone cannot see a cut tail
    with pytest.raises(AuditChainError, match="cut short"):
        verify_chain([path], head=head)


def test_rotation_starts_new_files_whose_first_event_follows_the_last_of_the_previous(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 40, max_bytes=2_000)
    files = log_files(path)
    assert len(files) > 2 and files[-1] == path and files[0].name == "audit.jsonl.1"
    assert all(p.stat().st_size <= 2_000 for p in files)
    second = json.loads(_lines(files[1])[0])
    assert second["prev"] == json.loads(_lines(files[0])[-1])["hash"]
    summary = verify_chain(files)
    assert (summary.events, summary.files) == (40, len(files))
    with pytest.raises(AuditChainError, match="start of the log is missing"):
        verify_chain(files[1:])
    last_of_first = json.loads(_lines(files[0])[-1])["hash"]
    assert verify_chain(files[1:], after=last_of_first).events == 40 - len(_lines(files[0]))


def test_a_restarted_log_continues_the_chain_and_cuts_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 2)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"time":"2026-')  # a crash in the middle of a write
    _write(path, 2)
    events = [json.loads(line) for line in _lines(path)]
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert verify_chain([path]).events == 4


def test_input_ref_may_be_computed_later_on_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, source="gateway") as log:
        log.record(who="w", model="m", outcome="OK", latency_ms=0, input_ref=lambda: {"inputs_sha256": "x"})
        assert log.flush(5)
        assert log.head[0] == 1
    event = json.loads(_lines(path)[0])
    assert (event["input_ref"], event["source"]) == ({"inputs_sha256": "x"}, "gateway")


def test_the_log_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 1, fsync="always")
    assert path.stat().st_mode & 0o777 == 0o600


def test_recording_after_close_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", fsync="never")
    log.close()
    with pytest.raises(Exception, match="closed"):
        log.record(who="w", model="m", outcome="OK", latency_ms=0)


def test_extra_fields_cannot_overwrite_the_chain(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "audit.jsonl") as log, pytest.raises(ValueError, match="prev"):
        log.record(who="w", model="m", outcome="OK", latency_ms=0, prev=GENESIS)
