"""Writing outputs so that a reader never sees a partial one (RELIABILITY.md "File outbox").

Every output is written under a temporary name in its final folder (``.NAME.tmp``: hidden, and not matching
anyone's ``*.csv``), synced, renamed over the final name with ``os.replace`` and the folder synced. A long
output is written in chunks with a durable length after each (:class:`OutputFile`), so that a restart can
truncate it back to the last committed chunk and go on.

Files are created with mode 0o640, never through a symbolic link (``O_NOFOLLOW``), and a stale temporary
of the same name is unlinked first rather than opened, so a link planted there cannot redirect a write.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from adapters.files.faults import FaultPlan
from adapters.files.folders import FILE_MODE, fsync_dir

__all__ = [
    "OutputFile",
    "ResumeError",
    "digest",
    "free_name",
    "publish",
    "remove_quietly",
    "temporary",
    "write_atomic",
]

_READ = 1 << 20


class ResumeError(OSError):
    """A temporary output is shorter than its committed length: it cannot be resumed, only redone."""


def temporary(final: Path) -> Path:
    """The temporary name a final path is written under: ``outbox/.X.result.csv.tmp``."""
    return final.with_name(f".{final.name}.tmp")


class OutputFile:
    """An output being written: raw ``os.write`` calls on a file descriptor, synced on demand.

    ``faults`` (tests only) may make writes and syncs fail as on a full disk.
    """

    def __init__(self, path: Path, faults: FaultPlan | None = None) -> None:
        self.path = path
        self._faults = faults or FaultPlan()
        self._fd = -1
        self.size = 0

    def create(self, header: bytes = b"") -> None:
        """Start the file afresh with ``header``, replacing any stale file of the same name."""
        remove_quietly(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        self.size = 0
        self.write(header)

    def resume(self, committed: int) -> None:
        """Reopen the file and cut it back to ``committed`` bytes (whatever came after was never committed).

        Raises ResumeError when the file is missing or shorter than that.
        """
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW)
        except FileNotFoundError as exc:
            raise ResumeError(f"{self.path.name} is gone; the output must be redone") from exc
        length = os.fstat(self._fd).st_size
        if length < committed:
            self.close()
            raise ResumeError(f"{self.path.name} has {length} bytes, fewer than the {committed} committed")
        os.ftruncate(self._fd, committed)
        os.lseek(self._fd, committed, os.SEEK_SET)
        self.size = committed
        self.sync()

    def write(self, data: bytes) -> None:
        self._faults.check_disk(self.path)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)

    def sync(self) -> int:
        """Make everything written so far durable; returns the committed length."""
        self._faults.check_disk(self.path)
        os.fsync(self._fd)
        return self.size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def publish(temp: Path, final: Path) -> bool:
    """Rename ``temp`` over ``final`` and sync the folder. Returns False when ``temp`` is already gone
    (published by an earlier run that crashed before recording it)."""
    try:
        os.replace(temp, final)
    except FileNotFoundError:
        return False
    fsync_dir(final.parent)
    return True


def write_atomic(final: Path, data: bytes, faults: FaultPlan | None = None) -> None:
    """Write a small file (manifest, done marker) under a temporary name, sync and rename it."""
    with OutputFile(temporary(final), faults) as out:
        out.create(data)
        out.sync()
    publish(temporary(final), final)


def digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read without following a symbolic link."""
    sha = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        while block := os.read(fd, _READ):
            sha.update(block)
            size += len(block)
    finally:
        os.close(fd)
    return sha.hexdigest(), size


def remove_quietly(path: Path) -> None:
    """Unlink ``path`` (never what a link points to) if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def free_name(folder: Path, name: str, tag: str, *, always: bool = False) -> Path:
    """``folder/name`` if free (and not ``always``), else ``folder/<stem>.<tag>[-n]<suffix>``: archives and
    quarantines never overwrite an earlier file."""
    candidate = folder / name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    n = 0
    if always:
        n = 1
        candidate = folder / (f"{stem}.{tag}.{suffix}" if suffix else f"{stem}.{tag}")
    while os.path.lexists(candidate):
        n += 1
        label = tag if n == 1 else f"{tag}-{n}"
        candidate = folder / (f"{stem}.{label}.{suffix}" if suffix else f"{stem}.{label}")
    return candidate
