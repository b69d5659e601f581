"""The audit trail: an append-only, hash-chained JSON Lines log with one event per request, file or message.

Each line is one event::

    {"input_ref":{...},"latency_ms":1.234,"model":"breast-cancer","model_sha256":"…","model_version":"2",
     "outcome":"OK","prev":"<hash of the event before>","request_id":"…","seq":41,"source":"gateway",
     "time":"2026-01-31T23:59:59.123456Z","who":"token:erp-nightly","hash":"<sha256>"}

``hash`` is the SHA-256 (hex) of the canonical JSON of the event without ``hash`` (keys sorted, no spaces,
UTF-8); ``prev`` is the previous event's hash (64 zeros for the first event ever) and ``seq`` counts events
from 0, so a removed, edited, inserted or reordered line breaks the chain at a line that ``verify_chain``
names. Events never carry a payload: ``input_ref`` identifies the input (a digest, a file name and SHA-256
and record range, a message id), never its content.

Rotation by size: the full file is renamed ``<name>.<N>`` (N = 1, 2, … oldest first, never renumbered) and
a new file starts; its first event's ``prev`` is the last hash of the previous file, so the chain runs
across files. A restarted writer continues the chain from the last line on disk (a torn last line from a
crash is cut off and reported). Files are created with mode 0600.

Writes happen on one background thread so callers only pay for building a small dict; the queue is bounded
and ``record`` blocks when it is full rather than dropping an event (an audit gap is worse than a pause).
``fsync``: ``"always"`` after every event, ``"batch"`` after each group of events the writer drains at once
(the default: durable within milliseconds, cheap under load), ``"never"`` leaves it to the OS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "EVENT_FIELDS",
    "GENESIS",
    "AuditChainError",
    "AuditError",
    "AuditLog",
    "ChainSummary",
    "FsyncPolicy",
    "canonical_json",
    "event_hash",
    "log_files",
    "utc_now",
    "verify_chain",
]

_log = logging.getLogger("gateway.audit")

GENESIS = "0" * 64
EVENT_FIELDS = (
    "time",
    "who",
    "model",
    "model_version",
    "model_sha256",
    "request_id",
    "input_ref",
    "outcome",
    "latency_ms",
    "prev",
    "hash",
)
FsyncPolicy = Literal["always", "batch", "never"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_BATCH = 1024  # events written (and fsynced, under "batch") per writer round at most


class AuditError(RuntimeError):
    """The audit log cannot be opened or continued (unreadable, or its last event is not a valid event)."""


def utc_now() -> str:
    """The current time as RFC 3339 UTC with microseconds, e.g. ``2026-01-31T23:59:59.123456Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(event: Mapping[str, Any]) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 text, no NaN."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of ``event`` without its ``hash`` key."""
    body = {key: value for key, value in event.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def log_files(path: Path) -> list[Path]:
    """The files of one audit log in chain order: rotated ``<name>.<N>`` by N, then ``path`` if present."""
    path = Path(path)
    rotated: list[tuple[int, Path]] = []
    if path.parent.is_dir():
        prefix = path.name + "."
        for sibling in path.parent.iterdir():
            suffix = sibling.name[len(prefix) :]
            if sibling.name.startswith(prefix) and suffix.isdigit():
                rotated.append((int(suffix), sibling))
    files = [p for _, p in sorted(rotated)]
    return [*files, path] if path.exists() else files


# --- writing ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Flush:
    done: threading.Event


class AuditLog:
    """Append events to ``path`` from any thread; ``close()`` writes what is queued and stops the writer.

    Args:
        path: the live file; rotated files sit beside it.
        max_bytes: rotate before a line would take the file past this size (0: never rotate).
        fsync: ``"always"``, ``"batch"`` or ``"never"`` (see the module docstring).
        queue_size: events that may wait for the writer before ``record`` blocks.
        source: default ``source`` of events (``gateway``, ``files``, ``amqp``).

    Raises AuditError if the existing log cannot be continued.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        fsync: FsyncPolicy = "batch",
        queue_size: int = 10_000,
        source: str = "",
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.source = source
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._prev = _resume(self.path)
        self._fd = _open_append(self.path)
        self._size = os.fstat(self._fd).st_size
        self._queue: queue.Queue[dict[str, Any] | _Flush | None] = queue.Queue(maxsize=queue_size)
        self._closed = False
        self._failed: BaseException | None = None
        self._writer = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._writer.start()

    # --- the API callers use --------------------------------------------------------------------------

    def record(
        self,
        *,
        who: str,
        model: str,
        outcome: str,
        latency_ms: float,
        model_version: str = "",
        model_sha256: str = "",
        request_id: str = "",
        input_ref: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        time: str | None = None,
        **extra: Any,
    ) -> None:
        """Queue one event; blocks while the queue is full. Never pass payload values.

        ``input_ref`` may be a zero-argument callable, evaluated on the writer thread (e.g. a digest of the
        inputs, kept off the caller's hot path). ``extra`` keys (``source``, ``run_id``, ``adapter``…) are
        added to the event; they may not replace the chained fields. Raises AuditError after ``close``.
        """
        if self._closed:
            raise AuditError(f"audit log {self.path.name} is closed")
        event: dict[str, Any] = {
            "time": time or utc_now(),
            "who": who,
            "model": model,
            "model_version": model_version,
            "model_sha256": model_sha256,
            "request_id": request_id,
            "input_ref": input_ref if input_ref is not None else {},
            "outcome": outcome,
            "latency_ms": round(float(latency_ms), 3),
        }
        if self.source:
            event["source"] = self.source
        for key, value in extra.items():
            if key in ("prev", "hash", "seq") or (key in event and key != "source"):
                raise ValueError(f"audit event: '{key}' is set by the audit log or already given")
            event[key] = value
        self._queue.put(event)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every event queued before this call is written (and fsynced unless ``never``)."""
        if self._closed or not self._writer.is_alive():
            return False
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Write everything queued, fsync, log a checkpoint (seq and hash of the last event), stop."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout_s)
        if self._writer.is_alive():
            _log.error("audit writer did not finish within %.0f s; events may be missing", timeout_s or 0)
            return
        os.close(self._fd)
        _log.info("audit checkpoint", extra={"audit_seq": self._seq - 1, "audit_hash": self._prev})

    @property
    def head(self) -> tuple[int, str]:
        """(number of events written so far, hash of the last one) — ``GENESIS`` when empty."""
        return self._seq, self._prev

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the writer thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [item for item in batch if isinstance(item, dict)]
            self._write_durably(events)
            for item in batch:
                if isinstance(item, _Flush):
                    item.done.set()
                stop = stop or item is None

    def _write_durably(self, events: list[dict[str, Any]]) -> None:
        """Write ``events``; on an I/O error (disk full…) undo the partial write, wait and retry, forever:
        callers block behind the bounded queue instead of events being lost."""
        if not events:
            return
        lines, prev = [], self._prev
        for offset, event in enumerate(events):
            line, prev = _chain(event, self._seq + offset, prev)
            lines.append(line)
        delay = 0.5
        while True:
            try:
                self._append(lines)
                break
            except OSError as exc:
                _log.error("audit write failed, retrying: %s", exc.strerror or exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._seq += len(lines)
        self._prev = prev

    def _append(self, lines: Sequence[str]) -> None:
        start = self._size
        try:
            for line in lines:
                data = line.encode("utf-8")
                if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
                    self._rotate()
                    start = 0
                _write_all(self._fd, data)
                self._size += len(data)
                if self.fsync == "always":
                    os.fsync(self._fd)
            if self.fsync == "batch":
                os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, start)
            self._size = start
            raise

    def _rotate(self) -> None:
        if self.fsync != "never":
            os.fsync(self._fd)
        os.close(self._fd)
        existing = [int(p.name.rsplit(".", 1)[1]) for p in log_files(self.path) if p != self.path]
        target = self.path.with_name(f"{self.path.name}.{max(existing, default=0) + 1}")
        os.replace(self.path, target)
        self._fd = _open_append(self.path)
        self._size = 0
        _fsync_dir(self.path.parent)
        _log.info(
            "audit rotated",
            extra={"audit_file": target.name, "audit_seq": self._seq - 1, "audit_hash": self._prev},
        )


def _chain(event: dict[str, Any], seq: int, prev: str) -> tuple[str, str]:
    """Resolve deferred values, number and chain the event. Returns (its line with the newline, its hash)."""
    for key, value in list(event.items()):
        if callable(value):
            try:
                event[key] = value()
            except Exception as exc:  # a broken digest must not cost the event itself
                _log.error("audit: computing %s failed: %s", key, type(exc).__name__)
                event[key] = {"error": type(exc).__name__}
    event["seq"] = seq
    event["prev"] = prev
    text = canonical_json(event)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text[:-1] + f',"hash":"{digest}"}}\n', digest


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _open_append(path: Path) -> int:
    flags = (
        os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise AuditError(f"cannot open audit log {path}: {exc.strerror or exc}") from exc


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _resume(path: Path) -> tuple[int, str]:
    """(next seq, last hash) from the newest file of the log; cuts a torn last line off the live file."""
    for candidate in reversed(log_files(path)):
        last = _last_line(candidate, repair=candidate == path)
        if last is None:
            continue
        try:
            event = json.loads(last)
            if event_hash(event) != event["hash"]:
                raise ValueError("its hash does not match")
            return int(event["seq"]) + 1, str(event["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(
                f"cannot continue audit log {candidate.name}: its last line is not a valid event ({exc}); "
                "run 'bridgeway audit verify' on it"
            ) from exc
    return 0, GENESIS


def _last_line(path: Path, repair: bool) -> str | None:
    """The last complete line of ``path`` (None if empty). A trailing partial line is truncated when
    ``repair`` (it can only come from a crash mid-write), else reported."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data:
        return None
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        if not repair:
            raise AuditError(f"audit log {path.name} ends with a partial line")
        _log.error("audit log %s: cutting off a torn last line of %d bytes", path.name, len(data) - cut)
        os.truncate(path, cut)
        data = data[:cut]
        if not data:
            return None
    return data[: len(data) - 1].rsplit(b"\n", 1)[-1].decode("utf-8")


# --- verifying -------------------------------------------------------------------------------------------


class AuditChainError(ValueError):
    """The chain is broken: ``path`` and 1-based ``line`` name the first bad line, ``reason`` says why."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}")


@dataclass(frozen=True, slots=True)
class ChainSummary:
    events: int
    files: int
    first_seq: int
    head: str  # hash of the last event (GENESIS for an empty log)


def verify_chain(paths: Sequence[Path], after: str = GENESIS, head: str | None = None) -> ChainSummary:
    """Check the chain across ``paths`` (chain order). Raises AuditChainError at the first bad line.

    ``after``: the hash the first event must follow (default: the start of the log). ``head``: a hash
    recorded elsewhere (an ``audit checkpoint`` log line) that must appear in the chain, which catches lines
    cut off the end.
    """
    prev, seq, count, seen_head = after, None, 0, head is None
    for path in paths:
        for number, raw in _numbered_lines(path):
            event = _parse(path, number, raw)
            if event["prev"] != prev:
                raise AuditChainError(path, number, _prev_problem(count, prev, event["prev"]))
            if seq is not None and event.get("seq") != seq:
                raise AuditChainError(path, number, f"seq is {event.get('seq')}, expected {seq}")
            seq = (event["seq"] if isinstance(event.get("seq"), int) else 0) + 1
            prev, count = event["hash"], count + 1
            seen_head = seen_head or prev == head
    if not seen_head:
        raise AuditChainError(paths[-1], count, f"the chain ends before the recorded head {head}: cut short")
    return ChainSummary(count, len(paths), (seq or 0) - count, prev)


def _numbered_lines(path: Path) -> Iterable[tuple[int, bytes]]:
    try:
        with open(path, "rb") as handle:
            yield from enumerate(handle, start=1)
    except OSError as exc:
        raise AuditChainError(path, 0, f"cannot read: {exc.strerror or exc}") from exc


def _parse(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise AuditChainError(path, number, "partial line (no newline at the end)")
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditChainError(path, number, f"not a JSON object: {exc}") from exc
    if not isinstance(event, dict):
        raise AuditChainError(path, number, "not a JSON object")
    missing = [name for name in EVENT_FIELDS if name not in event]
    if missing:
        raise AuditChainError(path, number, f"missing field(s): {', '.join(missing)}")
    for name in ("prev", "hash"):
        if not isinstance(event[name], str) or not _HEX64.match(event[name]):
            raise AuditChainError(path, number, f"'{name}' is not a SHA-256 hex digest")
    if event_hash(event) != event["hash"]:
        raise AuditChainError(path, number, "hash does not match the event: the line was altered")
    return event


def _prev_problem(count: int, expected: str, found: str) -> str:
    if count == 0:
        return (
            f"the first event follows {found[:12]}…, not {expected[:12]}…: the start of the log is "
            "missing (give the earlier files first, or --after the last hash before this file)"
        )
    return "prev does not match the line before: a line was removed, inserted or moved here"
