"""The folder pipeline's durable memory: one SQLite row per input content, keyed by its SHA-256.

States follow RELIABILITY.md's folder state machine::

    CLAIMED -> CHUNK (n) -> SCORED -> PUBLISHED -> DONE
          \\-> FAILED (moved to errors/; the same bytes dropped again are tried again)

``CHUNK`` rows carry the checkpoint of the last committed chunk: records done, counts, and the byte length
of the temporary result and rejects files at that point (a restart truncates them back to it, as Spring
Batch's ``FlatFileItemWriter`` does). ``SCORED`` means every temporary output is complete and synced;
publishing from it is idempotent. ``PUBLISHED`` means the outputs carry their final names; only archiving
the input is left. A content hash in state ``DONE`` is never scored again.

The database runs in WAL mode with ``synchronous=FULL``, so a committed transition survives a crash or a
power cut. One ledger belongs to one pipeline (one work folder) and is used from one thread at a time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "Entry", "Ledger", "State"]


class State(StrEnum):
    CLAIMED = "CLAIMED"
    CHUNK = "CHUNK"
    SCORED = "SCORED"
    PUBLISHED = "PUBLISHED"
    DONE = "DONE"
    FAILED = "FAILED"


#: States of a file that is claimed and not finished: a restart picks these up.
UNFINISHED = (State.CLAIMED, State.CHUNK, State.SCORED, State.PUBLISHED)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Progress after a committed chunk: everything up to ``records_done`` is in the temporary outputs,
    which are exactly ``result_offset`` and ``rejects_offset`` bytes long."""

    chunk: int = 0
    records_done: int = 0
    scored: int = 0
    rejected: int = 0
    result_offset: int = 0
    rejects_offset: int = 0
    models: Mapping[str, str] = field(default_factory=dict)  # model version -> model sha256


@dataclass(frozen=True, slots=True)
class Entry:
    """One input content's row."""

    sha256: str
    name: str
    state: State
    work_path: str
    claimed_at: float
    updated_at: float
    checkpoint: Checkpoint
    attempts: int = 0
    next_attempt_at: float = 0.0
    archive_path: str = ""
    error: str = ""
    started_at: float = 0.0
    size: int = 0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    work_path TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    claimed_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL NOT NULL DEFAULT 0,
    chunk INTEGER NOT NULL DEFAULT 0,
    records_done INTEGER NOT NULL DEFAULT 0,
    scored INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    result_offset INTEGER NOT NULL DEFAULT 0,
    rejects_offset INTEGER NOT NULL DEFAULT 0,
    models TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    archive_path TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
)
"""


class Ledger:
    """The SQLite ledger at ``path`` (created with mode 0o640 when absent)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o640))
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, sha256: str) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return _entry(row) if row is not None else None

    def unfinished(self) -> list[Entry]:
        """Claimed files not yet DONE or FAILED, oldest claim first."""
        marks = ",".join("?" * len(UNFINISHED))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM files WHERE state IN ({marks}) ORDER BY claimed_at",
                [s.value for s in UNFINISHED],
            ).fetchall()
        return [_entry(row) for row in rows]

    def claim(self, sha256: str, name: str, work_path: str, size: int, now: float) -> Entry:
        """Record a new claim, replacing a FAILED row of the same content (a re-drop is tried again).

        Raises KeyError when the content already has a row in any other state: it is a duplicate.
        """
        with self._lock:
            existing = self._db.execute("SELECT state FROM files WHERE sha256 = ?", (sha256,)).fetchone()
            if existing is not None and existing["state"] != State.FAILED:
                raise KeyError(f"content {sha256} is already {existing['state']}")
            self._db.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
            self._db.execute(
                "INSERT INTO files (sha256, name, state, work_path, size, claimed_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sha256, name, State.CLAIMED.value, work_path, size, now, now),
            )
        entry = self.get(sha256)
        assert entry is not None
        return entry

    def checkpoint(self, sha256: str, state: State, checkpoint: Checkpoint, now: float) -> None:
        """Commit progress (state CLAIMED for a fresh start, CHUNK after a chunk, SCORED at the end)."""
        self._update(
            sha256,
            now,
            state=state.value,
            chunk=checkpoint.chunk,
            records_done=checkpoint.records_done,
            scored=checkpoint.scored,
            rejected=checkpoint.rejected,
            result_offset=checkpoint.result_offset,
            rejects_offset=checkpoint.rejects_offset,
            models=json.dumps(dict(checkpoint.models), sort_keys=True),
        )

    def started(self, sha256: str, now: float) -> None:
        self._update(sha256, now, started_at=now)

    def published(self, sha256: str, archive_path: str, now: float) -> None:
        self._update(sha256, now, state=State.PUBLISHED.value, archive_path=archive_path)

    def done(self, sha256: str, now: float) -> None:
        self._update(sha256, now, state=State.DONE.value, error="")

    def failed(self, sha256: str, reason: str, now: float) -> None:
        self._update(sha256, now, state=State.FAILED.value, error=reason)

    def retry_later(
        self, sha256: str, attempts: int, next_attempt_at: float, reason: str, now: float
    ) -> None:
        self._update(sha256, now, attempts=attempts, next_attempt_at=next_attempt_at, error=reason)

    def _update(self, sha256: str, now: float, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE files SET {columns}, updated_at = ? WHERE sha256 = ?",
                [*values.values(), now, sha256],
            )
        if cursor.rowcount != 1:
            raise KeyError(f"no ledger row for content {sha256}")


def _entry(row: sqlite3.Row) -> Entry:
    checkpoint = Checkpoint(
        chunk=row["chunk"],
        records_done=row["records_done"],
        scored=row["scored"],
        rejected=row["rejected"],
        result_offset=row["result_offset"],
        rejects_offset=row["rejects_offset"],
        models=json.loads(row["models"]),
    )
    return Entry(
        sha256=row["sha256"],
        name=row["name"],
        state=State(row["state"]),
        work_path=row["work_path"],
        claimed_at=row["claimed_at"],
        updated_at=row["updated_at"],
        checkpoint=checkpoint,
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        archive_path=row["archive_path"],
        error=row["error"],
        started_at=row["started_at"],
        size=row["size"],
    )
