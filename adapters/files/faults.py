"""Fault injection for the folder protocol's fault tests (RELIABILITY.md T9, T10, T13). Test use only.

A :class:`FaultPlan` is built once by the command line (``bridgeway run`` / ``bridgeway score``) from two
environment variables and handed to the file processor; with neither set it does nothing:

* ``BRIDGEWAY_TEST_CRASH_AT=<point>`` kills the process with SIGKILL (no cleanup, like a power cut of the
  process) when it reaches ``<point>``: ``after_claim`` (claimed and hashed, nothing scored),
  ``mid_chunk:N`` (half of chunk N's results written to the temporary output, not synced or committed),
  ``after_chunk:N`` (chunk N committed to the ledger), ``after_scored`` (outputs complete under their
  temporary names), ``after_publish`` (outputs renamed to their final names and the ledger says
  PUBLISHED, the input not yet archived). Chunks count from 1 within one process.
* ``BRIDGEWAY_TEST_ENOSPC_FILE=<path>``: while ``<path>`` exists, every write and fsync of an outbox file
  fails with ``ENOSPC`` (a full disk), so a test can fill and free "the disk" at will.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CRASH_ENV", "ENOSPC_ENV", "FaultPlan"]

CRASH_ENV = "BRIDGEWAY_TEST_CRASH_AT"
ENOSPC_ENV = "BRIDGEWAY_TEST_ENOSPC_FILE"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    crash_at: str | None = None
    enospc_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> FaultPlan:
        crash = environ.get(CRASH_ENV) or None
        enospc = environ.get(ENOSPC_ENV) or None
        return cls(crash, Path(enospc) if enospc else None)

    @property
    def active(self) -> bool:
        return self.crash_at is not None or self.enospc_file is not None

    def reached(self, point: str) -> None:
        """Crash here if this is the configured crash point."""
        if self.crash_at is not None and self.crash_at == point:
            os.kill(os.getpid(), signal.SIGKILL)

    def check_disk(self, path: Path) -> None:
        """Raise ENOSPC for ``path`` while the fault file exists."""
        if self.enospc_file is not None and self.enospc_file.exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
