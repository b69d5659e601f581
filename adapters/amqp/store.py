"""The processed-id store: one SQLite file per pipeline remembering each request's result bytes.

Why: delivery is at-least-once, so a request can come back (a redelivery after a crash or a broker restart,
or a client publishing the same request twice). Looking its id up here first makes every repeat publish the
*same bytes* and skips re-inference (RELIABILITY T7). The result is committed here (WAL,
``synchronous=FULL``) before it is published, so even a crash between publish and ack replays identical
bytes.

The same rows double as the outbox for unroutable results: a result the broker returned (``mandatory``, no
queue bound) is marked ``parked`` before its request is acked, and the consumer re-publishes parked rows
until one is routed.

Thread-safety: one connection guarded by a lock, used from the worker thread (lookups, saves) and the
connection's I/O thread (parking).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ParkedResult", "ProcessedStore", "StoredResult"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (
    key TEXT PRIMARY KEY,
    request_sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    headers TEXT NOT NULL,
    created REAL NOT NULL,
    parked INTEGER NOT NULL DEFAULT 0,
    exchange TEXT,
    routing_key TEXT,
    correlation_id TEXT
);
CREATE INDEX IF NOT EXISTS processed_parked ON processed(parked) WHERE parked = 1;
CREATE INDEX IF NOT EXISTS processed_created ON processed(created);
"""


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A request's result as published: ``key`` is the request id, ``request_sha256`` its body's digest."""

    key: str
    request_sha256: str
    body: bytes
    content_type: str
    headers: dict[str, str | int]


@dataclass(frozen=True, slots=True)
class ParkedResult:
    """An unroutable result waiting to be re-published to ``exchange``/``routing_key``."""

    result: StoredResult
    exchange: str
    routing_key: str
    correlation_id: str | None


class ProcessedStore:
    """SQLite-backed ``key -> StoredResult`` with parking; entries older than ``ttl_s`` are pruned
    (parked ones never are)."""

    def __init__(self, path: Path, ttl_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self.prune()

    def lookup(self, keys: Iterable[str]) -> dict[str, StoredResult]:
        """The stored results of those ``keys`` that have one."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, StoredResult] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT key, request_sha256, body, content_type, headers FROM processed "
                    f"WHERE key IN ({marks})",
                    chunk,
                )
                for row in rows:
                    found[row[0]] = _result(row)
        return found

    def save(self, results: Sequence[StoredResult]) -> None:
        """Commit ``results`` durably in one transaction (an existing key keeps its first result)."""
        if not results:
            return
        now = time.time()
        rows = [
            (r.key, r.request_sha256, r.body, r.content_type, json.dumps(r.headers), now) for r in results
        ]
        with self._lock, _transaction(self._db):
            self._db.executemany(
                "INSERT OR IGNORE INTO processed (key, request_sha256, body, content_type, headers, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def park(self, key: str, exchange: str, routing_key: str, correlation_id: str | None) -> None:
        """Mark ``key``'s result unroutable, to be re-published to ``exchange``/``routing_key``."""
        with self._lock, _transaction(self._db):
            self._db.execute(
                "UPDATE processed SET parked = 1, exchange = ?, routing_key = ?, correlation_id = ? "
                "WHERE key = ?",
                (exchange, routing_key, correlation_id, key),
            )

    def unpark(self, key: str) -> None:
        with self._lock, _transaction(self._db):
            self._db.execute("UPDATE processed SET parked = 0 WHERE key = ?", (key,))

    def parked(self, limit: int, exclude: Iterable[str] = ()) -> list[ParkedResult]:
        """Up to ``limit`` parked results, oldest first, leaving out the keys in ``exclude``."""
        skip = set(exclude)
        with self._lock:
            rows = self._db.execute(
                "SELECT key, request_sha256, body, content_type, headers, exchange, routing_key, "
                "correlation_id FROM processed WHERE parked = 1 ORDER BY created LIMIT ?",
                (limit + len(skip),),
            ).fetchall()
        parked = [
            ParkedResult(_result(row[:5]), row[5], row[6], row[7]) for row in rows if row[0] not in skip
        ]
        return parked[:limit]

    def count_parked(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM processed WHERE parked = 1").fetchone()
        return int(count)

    def prune(self) -> int:
        """Forget results older than the TTL (never parked ones); returns how many were removed."""
        cutoff = time.time() - self._ttl_s
        with self._lock, _transaction(self._db):
            cursor = self._db.execute("DELETE FROM processed WHERE created < ? AND parked = 0", (cutoff,))
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _result(row: Sequence[Any]) -> StoredResult:
    key, sha, body, content_type, headers = row
    return StoredResult(str(key), str(sha), bytes(body), str(content_type), json.loads(str(headers)))
