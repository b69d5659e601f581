"""The ledger: one durable row per input content, keyed by its SHA-256."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.files.ledger import Checkpoint, Ledger, State

SHA = "ab" * 32


def test_a_claim_survives_reopening_the_ledger_with_its_checkpoint(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.claim(SHA, "claims.csv", "/w/claims.csv", 10, now=1.0)
    ledger.checkpoint(SHA, State.CHUNK, Checkpoint(3, 12, 11, 1, 900, 40, {"2": "cd" * 32}), now=2.0)
    ledger.close()
    entry = Ledger(tmp_path / "ledger.sqlite").get(SHA)
    assert entry is not None and entry.state is State.CHUNK
    assert entry.checkpoint == Checkpoint(3, 12, 11, 1, 900, 40, {"2": "cd" * 32})
    assert (entry.name, entry.size, entry.claimed_at) == ("claims.csv", 10, 1.0)


def test_the_ledger_file_is_not_readable_by_others(tmp_path: Path) -> None:
    Ledger(tmp_path / "ledger.sqlite").close()
    assert stat.S_IMODE((tmp_path / "ledger.sqlite").stat().st_mode) & 0o007 == 0


def test_content_already_claimed_cannot_be_claimed_again_unless_it_failed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.claim(SHA, "a.csv", "/w/a.csv", 1, now=1.0)
    with pytest.raises(KeyError, match="already CLAIMED"):
        ledger.claim(SHA, "b.csv", "/w/b.csv", 1, now=2.0)
    ledger.failed(SHA, "bad", now=3.0)
    entry = ledger.claim(SHA, "b.csv", "/w/b.csv", 1, now=4.0)
    assert entry.state is State.CLAIMED and entry.name == "b.csv"


def test_unfinished_lists_claimed_files_until_they_are_done_or_failed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for i, state in enumerate([State.CHUNK, State.SCORED, State.PUBLISHED]):
        sha = f"{i:064x}"
        ledger.claim(sha, f"{i}.csv", "/w", 1, now=float(i))
        ledger.checkpoint(sha, state, Checkpoint(), now=float(i))
    ledger.claim("f" * 64, "done.csv", "/w", 1, now=9.0)
    ledger.done("f" * 64, now=9.0)
    assert [e.state for e in ledger.unfinished()] == [State.CHUNK, State.SCORED, State.PUBLISHED]


def test_a_retry_is_recorded_with_its_time_and_reason(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.claim(SHA, "a.csv", "/w/a.csv", 1, now=1.0)
    ledger.retry_later(SHA, attempts=2, next_attempt_at=50.0, reason="disk full", now=2.0)
    entry = ledger.get(SHA)
    assert entry is not None and (entry.attempts, entry.next_attempt_at, entry.error) == (
        2,
        50.0,
        "disk full",
    )
