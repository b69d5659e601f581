"""``bridgeway audit verify``: exit 0 for an intact chain, 1 naming the first bad line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from adapters.cli import main
from gateway.audit import AuditLog


def _log(path: Path, count: int, max_bytes: int = 0) -> None:
    with AuditLog(path, max_bytes=max_bytes) as audit:
        for n in range(count):
            audit.record(
                who="token:erp", model="m", model_version="1", request_id=f"r{n}", outcome="OK", latency_ms=n
            )


def test_an_intact_log_verifies_with_exit_code_0(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 3)
    result = CliRunner().invoke(main, ["audit", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 event(s)" in result.output


def test_the_live_file_is_verified_together_with_its_rotated_predecessors(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 30, max_bytes=1_500)
    assert (tmp_path / "audit.jsonl.1").exists()
    result = CliRunner().invoke(main, ["audit", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "30 event(s)" in result.output


def test_a_removed_line_fails_with_exit_code_1_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 4)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2:" in result.output


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2
    assert "no such audit file" in result.output
