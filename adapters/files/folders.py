"""The folders of one files pipeline, created with restrictive modes and checked to fit the protocol.

Claims and archiving are ``rename`` calls, which are atomic only within one file system: the inbox, work,
archive and errors folders must share one. The outbox may live elsewhere (results are written under a
temporary name inside the outbox itself and renamed there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "FolderError", "Folders", "fsync_dir"]

DIR_MODE = 0o750
FILE_MODE = 0o640


class FolderError(OSError):
    """A configured folder cannot be used (cannot be created, or sits on the wrong file system)."""


@dataclass(frozen=True, slots=True)
class Folders:
    inbox: Path
    outbox: Path
    archive: Path
    errors: Path
    work: Path

    @property
    def claims(self) -> Path:
        """Where a claimed file sits until its content hash is known."""
        return self.work / ".claims"

    @property
    def ledger(self) -> Path:
        return self.work / "ledger.sqlite"

    def content_dir(self, sha256: str) -> Path:
        """``work/<sha256>/``: the claimed file once its content hash is known."""
        return self.work / sha256

    def prepare(self) -> None:
        """Create missing folders (mode 0o750) and check that renames between them are atomic.

        Raises FolderError naming the folder and the reason.
        """
        for role, folder in self._roles():
            try:
                folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            except OSError as exc:
                raise FolderError(f"{role} folder {folder}: cannot create it: {exc.strerror or exc}") from exc
            if not folder.is_dir():
                raise FolderError(f"{role} folder {folder}: exists but is not a folder")
        self.claims.mkdir(mode=DIR_MODE, exist_ok=True)
        device = self.inbox.stat().st_dev
        for role, folder in (("work", self.work), ("archive", self.archive), ("errors", self.errors)):
            if folder.stat().st_dev != device:
                raise FolderError(
                    f"{role} folder {folder} is on another file system than the inbox {self.inbox}; "
                    "claims and archiving are renames, which need one file system"
                )

    def _roles(self) -> list[tuple[str, Path]]:
        return [
            ("inbox", self.inbox),
            ("outbox", self.outbox),
            ("archive", self.archive),
            ("errors", self.errors),
            ("work", self.work),
        ]


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (a rename into or out of it) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
