"""Moving a file the pipeline will not (or cannot) score into the errors folder, with a reason file.

The entry itself is renamed: a symbolic link is moved as a link (never followed), a hard link as one name
of the file (the other names are untouched), so quarantining never reads or changes anything outside the
configured folders. Next to it, ``<name>.reason.json`` says what was wrong in words an operator can act on.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from adapters.files.folders import fsync_dir
from adapters.files.names import safe_name
from adapters.files.outbox import free_name, write_atomic

__all__ = ["REASON_SUFFIX", "quarantine"]

REASON_SUFFIX = ".reason.json"


def quarantine(
    errors: Path,
    entry: Path | bytes,
    raw_name: bytes,
    reason: str,
    *,
    pipeline: str,
    sha256: str = "",
) -> Path:
    """Rename ``entry`` into ``errors`` under a safe, unused name and write its reason file.

    Returns the new path. Raises OSError when the rename fails (the caller logs it and leaves the entry).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = free_name(errors, safe_name(raw_name), stamp)
    os.rename(entry, target)
    fsync_dir(errors)
    document = {
        "file": target.name,
        "original_name": raw_name.decode("utf-8", errors="backslashreplace"),
        "reason": reason,
        "pipeline": pipeline,
        "sha256": sha256,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    text = json.dumps(document, ensure_ascii=True, indent=2) + "\n"
    write_atomic(errors / (target.name + REASON_SUFFIX), text.encode("ascii"))
    return target
