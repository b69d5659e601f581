"""What the folder pipeline does with each kind of failure (STYLE.md §5.4, "Folder pipeline" column).

* The file is at fault (it does not decode, lacks a field the model needs, has a bad record under
  ``on_bad_record: fail``) or the configuration is (unknown model, model that failed to load, access
  refused): the file goes to ``errors/`` with the reason; retrying cannot help.
* A transient condition (model not ready or server draining, queue full, a full disk): the file stays
  claimed at its last checkpoint and is retried with backoff, without limit: it will succeed once the
  condition clears. A deadline that expired, or another I/O error, is retried at most ``max_attempts``
  times, then the file goes to ``errors/``.
* Anything else is a bug: the file goes to ``errors/`` as an internal error and the traceback is logged;
  the watcher keeps running.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adapters.codecs.errors import CodecError
from adapters.files.processor import FileFailed, Stopped
from adapters.mapping import MappingConfigError
from gateway.errors import BridgewayError, DeadlineExceeded

__all__ = ["Disposition", "disposition"]

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True, slots=True)
class Disposition:
    action: Literal["quarantine", "retry", "stop"]
    reason: str
    bounded: bool = True  # retry: at most max_attempts times
    internal: bool = False  # quarantine: a bug, log the traceback


def disposition(exc: BaseException) -> Disposition:
    """Classify an error raised while processing one file."""
    if isinstance(exc, Stopped):
        return Disposition("stop", str(exc))
    if isinstance(exc, FileFailed):
        return Disposition("quarantine", str(exc))
    if isinstance(exc, MappingConfigError):
        return Disposition("quarantine", f"the file does not fit the model: {exc}")
    if isinstance(exc, CodecError | UnicodeError):
        return Disposition("quarantine", f"the file cannot be decoded: {exc}")
    if isinstance(exc, BridgewayError):
        what = f"{type(exc).__name__}: {exc}"
        if not exc.retryable:
            return Disposition("quarantine", what)
        return Disposition("retry", what, bounded=isinstance(exc, DeadlineExceeded))
    if isinstance(exc, OSError):
        where = f" ({Path(str(exc.filename)).name})" if exc.filename else ""
        what = f"{exc.strerror or type(exc).__name__}{where}"
        return Disposition("retry", what, bounded=exc.errno not in _DISK_FULL)
    return Disposition("quarantine", f"internal error: {type(exc).__name__}: {exc}", internal=True)
