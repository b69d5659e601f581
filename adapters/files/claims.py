"""Claiming inbox files and registering them in the ledger under their content hash.

A claim is one atomic rename, ``inbox/X -> work/.claims/<token>/X``: from then on no other scan (of this or
another watcher) can take the file, and the sender can no longer change it under its name. The claimed
file is then opened without following links, checked to be a regular file with one name, and hashed; its
folder is renamed to ``work/<sha256>/`` and the ledger gets a CLAIMED row. Content already scored (ledger
DONE) or being scored is a duplicate and is not registered again.

A crash at any point leaves the file in ``work/.claims/`` or ``work/<sha256>/``; :meth:`Claims.recover`
finds both after a restart.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.files.folders import DIR_MODE, Folders, fsync_dir
from adapters.files.ledger import Entry, Ledger, State
from adapters.files.outbox import free_name

__all__ = ["Claim", "Claims", "Duplicate", "NotRegular", "Registered"]

_READ = 1 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Claim:
    """A file taken out of the inbox, not yet registered: it sits at ``path``."""

    name: str
    path: Path


@dataclass(frozen=True, slots=True)
class Registered:
    entry: Entry


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The content was already scored (or is being scored) under ``original``'s row."""

    claim: Claim
    sha256: str
    original: Entry | None


@dataclass(frozen=True, slots=True)
class NotRegular:
    """After the claim the entry turned out not to be a plain single-name file (swapped in meanwhile)."""

    claim: Claim
    reason: str


Outcome = Registered | Duplicate | NotRegular


class Claims:
    def __init__(self, folders: Folders, ledger: Ledger, clock: Callable[[], float] = time.time) -> None:
        self.folders = folders
        self.ledger = ledger
        self._clock = clock
        self._counter = itertools.count()

    def take(self, name: str) -> Claim | None:
        """Rename ``inbox/name`` into a fresh claim folder; None when the file is gone (taken by another)."""
        token = f"{time.time_ns()}-{os.getpid()}-{next(self._counter)}"
        folder = self.folders.claims / token
        folder.mkdir(mode=DIR_MODE)
        try:
            os.rename(self.folders.inbox / name, folder / name)
        except FileNotFoundError:
            folder.rmdir()
            return None
        fsync_dir(self.folders.inbox)
        fsync_dir(folder)
        return Claim(name, folder / name)

    def register(self, claim: Claim) -> Outcome:
        """Hash the claimed file and record it, unless its content is already known."""
        checked = _hash(claim.path)
        if isinstance(checked, str):
            return NotRegular(claim, checked)
        sha256, size = checked
        known = self.ledger.get(sha256)
        target = self.folders.content_dir(sha256)
        if (known is not None and known.state is not State.FAILED) or target.exists():
            return Duplicate(claim, sha256, known)
        os.rename(claim.path.parent, target)
        fsync_dir(self.folders.work)
        entry = self.ledger.claim(sha256, claim.name, str(target / claim.name), size, self._clock())
        return Registered(entry)

    def archive_duplicate(self, duplicate: Duplicate) -> Path:
        """Move a duplicate claim to the archive as ``<stem>.duplicate-<sha256 prefix>.<ext>``."""
        claim = duplicate.claim
        target = free_name(
            self.folders.archive, claim.name, f"duplicate-{duplicate.sha256[:12]}", always=True
        )
        os.rename(claim.path, target)
        fsync_dir(self.folders.archive)
        _rmdir_quietly(claim.path.parent)
        return target

    def recover(self) -> list[Outcome]:
        """After a restart: register claims that never got a ledger row, and clean empty folders."""
        outcomes: list[Outcome] = []
        for folder in sorted(self.folders.work.iterdir()):
            if _SHA.match(folder.name) and folder.is_dir():
                self._adopt(folder)
        for token in sorted(self.folders.claims.iterdir()):
            files = [p for p in token.iterdir()] if token.is_dir() else []
            if not files:
                _rmdir_quietly(token)
            for path in files:
                outcomes.append(self.register(Claim(path.name, path)))
        return outcomes

    def _adopt(self, folder: Path) -> None:
        """A ``work/<sha256>/`` folder: register it if the crash came before its ledger row."""
        files = list(folder.iterdir())
        known = self.ledger.get(folder.name)
        if not files:
            _rmdir_quietly(folder)  # archived; the crash came before the folder was removed
            return
        if known is None:
            path = files[0]
            size = path.lstat().st_size
            self.ledger.claim(folder.name, path.name, str(path), size, self._clock())


def _hash(path: Path) -> tuple[str, int] | str:
    """(sha256, size) of a regular single-name file, or why it is not one. Never follows a link and never
    blocks on a named pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return f"cannot be opened without following links: {exc.strerror or exc}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_nlink > 1:
            return f"a hard link: the file has {info.st_nlink} names"
        sha = hashlib.sha256()
        size = 0
        while block := os.read(fd, _READ):
            sha.update(block)
            size += len(block)
        return sha.hexdigest(), size
    finally:
        os.close(fd)


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
