"""Looking at the inbox: which entries are ours, which are complete, which must be refused.

A scan lists the inbox once (names as bytes, so that a name that is not UTF-8 is seen as it is), keeps the
entries matching the pipeline's pattern (hidden names, starting with ``.``, are a sender's temporaries and
never match), and sorts them into:

* refused: a name :func:`~adapters.files.names.name_problem` rejects, a symbolic link, anything that is not
  a regular file, or a file with more than one name (a hard link could expose a file from outside the
  inbox). These go to ``errors/`` without being opened.
* ready: complete according to the ``ready`` mode. ``done-file``: ``<name><done_suffix>`` exists and is not
  older than the data file (a done file left over from an earlier drop does not make a new, still growing
  file ready). ``rename``: the sender renames complete files in, so matching is enough. ``stable``: size
  and modification time unchanged for ``stable_seconds`` of polling.
* anything else waits for a later scan.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.config import FilesSource
from adapters.files.names import name_problem

__all__ = ["Inbox", "Refused", "Scan"]


@dataclass(frozen=True, slots=True)
class Refused:
    """An inbox entry that will not be read: its name as bytes and why."""

    raw: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Scan:
    ready: list[str]  # oldest first
    refused: list[Refused]


class Inbox:
    """Scans one inbox for one pipeline.

    ``derived(name)`` returns the output names the pipeline would create for an input (checked against the
    file-name length limit). ``clock`` is a monotonic clock (stable-size mode).
    """

    def __init__(
        self,
        source: FilesSource,
        derived: Callable[[str], list[str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.folder = source.inbox
        self._derived = derived
        self._clock = clock
        self._seen: dict[str, tuple[int, int, float]] = {}  # stable mode: name -> (size, mtime_ns, since)

    def scan(self) -> Scan:
        ready: list[tuple[int, str]] = []
        refused: list[Refused] = []
        present: set[str] = set()
        with os.scandir(bytes(self.folder)) as entries:
            for entry in entries:
                raw = entry.name
                if raw.startswith(b".") or not self._matches(raw):
                    continue
                info = entry.stat(follow_symlinks=False)
                problem = self._problem(raw, info)
                if problem is not None:
                    refused.append(Refused(raw, problem))
                    continue
                name = raw.decode("utf-8")
                present.add(name)
                if self._is_ready(name, info):
                    ready.append((info.st_mtime_ns, name))
        self._seen = {k: v for k, v in self._seen.items() if k in present}
        return Scan([name for _, name in sorted(ready)], refused)

    def forget(self, name: str) -> None:
        """Stop tracking a name (claimed or refused)."""
        self._seen.pop(name, None)

    def done_file(self, name: str) -> Path:
        return self.folder / (name + self.source.done_suffix)

    def forget_done_file(self, name: str, claimed_at: float | None) -> None:
        """Remove the done file of a claimed input (done-file mode). With ``claimed_at`` (a restart finding
        a claim whose done file a crash left behind), only a done file not newer than the claim goes: a
        newer one belongs to a new drop of the same name."""
        if self.source.ready != "done-file":
            return
        marker = self.done_file(name)
        try:
            if claimed_at is None or marker.lstat().st_mtime <= claimed_at:
                marker.unlink()
        except FileNotFoundError:
            pass

    def _matches(self, raw: bytes) -> bool:
        name = raw.decode("utf-8", errors="surrogateescape")
        if self.source.ready == "done-file" and name.endswith(self.source.done_suffix):
            return False
        return fnmatch.fnmatchcase(name, self.source.pattern)

    def _problem(self, raw: bytes, info: os.stat_result) -> str | None:
        if stat.S_ISLNK(info.st_mode):
            return "a symbolic link; links are never followed"
        if not stat.S_ISREG(info.st_mode):
            return f"not a regular file ({_file_kind(info.st_mode)})"
        if info.st_nlink > 1:
            return f"a hard link: the file has {info.st_nlink} names; only files with one name are accepted"
        try:
            derived = self._derived(raw.decode("utf-8"))
        except UnicodeDecodeError:
            derived = []
        return name_problem(raw, derived)

    def _is_ready(self, name: str, info: os.stat_result) -> bool:
        mode = self.source.ready
        if mode == "rename":
            return True
        if mode == "done-file":
            try:
                marker = os.lstat(self.done_file(name))
            except FileNotFoundError:
                return False
            return marker.st_mtime_ns >= info.st_mtime_ns
        return self._stable(name, info)

    def _stable(self, name: str, info: os.stat_result) -> bool:
        now = self._clock()
        shape = (info.st_size, info.st_mtime_ns)
        seen = self._seen.get(name)
        if seen is None or seen[:2] != shape:
            self._seen[name] = (*shape, now)
            return False
        return now - seen[2] >= self.source.stable_seconds


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return "a device"
    return "an unknown kind of entry"
