"""The long-running loop of one files pipeline: poll the inbox, claim, hand each file to the processor.

Polling is the mechanism, not a fallback: file-system events are not delivered for changes made by other
hosts on NFS or SMB shares, so a scan every ``poll_interval`` is what finds files. The loop never dies on a
file: whatever goes wrong with one is settled by its disposition (``errors/`` with a reason file, or a
retry later) and the loop goes on. On start it first finishes what a previous run left: claims without a
ledger row, and ledger rows not DONE (resumed from their checkpoint, or just archived when PUBLISHED).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from adapters.audit import PipelineAudit
from adapters.client.base import InferenceClient
from adapters.config import FilesSource, Pipeline
from adapters.files.claims import Claims, Duplicate, NotRegular, Registered
from adapters.files.dispositions import disposition
from adapters.files.faults import FaultPlan
from adapters.files.folders import Folders
from adapters.files.inbox import Inbox, Refused
from adapters.files.ledger import Entry, Ledger
from adapters.files.processor import FileProcessor
from adapters.files.quarantine import quarantine

__all__ = ["FolderWatcher", "folders_of"]

log = logging.getLogger("adapters.files")

_MAX_BACKOFF_S = 60.0


def folders_of(config: Pipeline) -> Folders:
    """The folders of a files pipeline (its work folder defaulted)."""
    source = config.source
    if not isinstance(source, FilesSource):
        raise TypeError(f"pipeline {config.name!r} is not a files pipeline")
    return Folders(source.inbox, source.outbox, source.archive, source.errors, config.work_folder)


class FolderWatcher:
    """Runs one files pipeline until ``stop`` is set (``adapters.runner.Runnable``)."""

    def __init__(
        self,
        config: Pipeline,
        client: InferenceClient,
        stop: threading.Event,
        *,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.time,
        audit: PipelineAudit | None = None,
    ) -> None:
        if not isinstance(config.source, FilesSource):
            raise TypeError(f"pipeline {config.name!r} is not a files pipeline")
        self.config = config
        self.source: FilesSource = config.source
        self.folders = folders_of(config)
        self.client = client
        self.stop = stop
        self.faults = faults or FaultPlan()
        self._clock = clock
        self._unmovable: set[bytes] = set()
        self.audit = audit or PipelineAudit(None, config.name, config.model)

    def run(self) -> None:
        """Poll until stopped. Returns early, logging why, only if the folders cannot be used at all."""
        try:
            self.open()
        except OSError as exc:
            log.error("pipeline cannot start", extra={"pipeline": self.config.name, "reason": str(exc)})
            return
        try:
            while not self.stop.is_set():
                self.poll()
                self.stop.wait(self.source.poll_interval)
        finally:
            self.close()

    def open(self) -> None:
        """Create the folders, open the ledger and finish what a previous run left. Raises OSError."""
        self.folders.prepare()
        self.ledger = Ledger(self.folders.ledger)
        self.processor = FileProcessor(
            self.config,
            self.folders,
            self.ledger,
            self.client,
            faults=self.faults,
            stop=self.stop,
            clock=self._clock,
            audit=self.audit,
        )
        self.claims = Claims(self.folders, self.ledger, self._clock)
        self.inbox = Inbox(self.source, self.processor.derived_names)
        log.info("watching", extra={"pipeline": self.config.name, "inbox": self.source.inbox.name})
        for outcome in self.claims.recover():
            self._settle_claim(outcome)

    def close(self) -> None:
        self.ledger.close()
        log.info("stopped", extra={"pipeline": self.config.name})

    def poll(self) -> None:
        """One round: due unfinished files first, then refusals and new ready files in the inbox."""
        now = self._clock()
        for entry in self.ledger.unfinished():
            if self.stop.is_set():
                return
            if entry.next_attempt_at <= now:
                self.inbox.forget_done_file(entry.name, entry.claimed_at)
                self._advance(entry)
        try:
            scan = self.inbox.scan()
        except OSError as exc:
            log.error("cannot list the inbox", extra={"pipeline": self.config.name, "reason": str(exc)})
            return
        for refused in scan.refused:
            self._refuse(refused)
        for name in scan.ready:
            if self.stop.is_set():
                return
            self._intake(name)

    def _intake(self, name: str) -> None:
        claim = self.claims.take(name)
        self.inbox.forget(name)
        if claim is None:
            return
        self.inbox.forget_done_file(name, None)
        self.faults.reached("after_claim")
        self._settle_claim(self.claims.register(claim))

    def _settle_claim(self, outcome: Registered | Duplicate | NotRegular) -> None:
        if isinstance(outcome, Registered):
            log.info("claimed", extra=self._facts(outcome.entry.name, outcome.entry.sha256))
            self._advance(outcome.entry)
        elif isinstance(outcome, Duplicate):
            self._archive_duplicate(outcome)
        else:
            claim = outcome.claim
            self._quarantine(claim.path, claim.name.encode(), outcome.reason, "")
            _rmdir_quietly(claim.path.parent)

    def _advance(self, entry: Entry) -> None:
        try:
            self.processor.process(entry)
        except Exception as exc:
            self._settle_failure(entry, exc)

    def _settle_failure(self, entry: Entry, exc: Exception) -> None:
        verdict = disposition(exc)
        facts = self._facts(entry.name, entry.sha256, reason=verdict.reason)
        if verdict.action == "stop":
            log.info("paused", extra=facts)
            return
        attempts = entry.attempts + 1
        if verdict.action == "retry" and (not verdict.bounded or attempts < self.source.max_attempts):
            delay = min(_MAX_BACKOFF_S, self.source.poll_interval * 2 ** min(attempts, 16))
            self.ledger.retry_later(
                entry.sha256, attempts, self._clock() + delay, verdict.reason, self._clock()
            )
            log.warning("retrying later", extra={**facts, "attempt": attempts, "delay_s": round(delay, 3)})
            return
        if verdict.internal:
            log.error("internal error", exc_info=exc, extra=facts)
        self.processor.discard_outputs(entry)
        work = Path(entry.work_path)
        if os.path.lexists(work):
            self._quarantine(work, entry.name.encode(), verdict.reason, entry.sha256)
        self.ledger.failed(entry.sha256, verdict.reason, self._clock())
        self.processor.audit_finished(entry, "FAILED")
        _rmdir_quietly(work.parent)

    def _refuse(self, refused: Refused) -> None:
        if refused.raw in self._unmovable:
            return
        entry = os.path.join(bytes(self.source.inbox), refused.raw)
        if not self._quarantine(entry, refused.raw, f"refused: {refused.reason}", ""):
            self._unmovable.add(refused.raw)

    def _quarantine(self, entry: Path | bytes, raw: bytes, reason: str, sha256: str) -> bool:
        try:
            target = quarantine(
                self.folders.errors, entry, raw, reason, pipeline=self.config.name, sha256=sha256
            )
        except OSError as exc:
            log.error("cannot move to errors", extra={"pipeline": self.config.name, "reason": str(exc)})
            return False
        # The reason file has the details; the log line gets no record values (they may quote data).
        summary = reason if reason.startswith("refused: ") else reason.split(": ", 1)[0]
        log.warning(
            "quarantined", extra={"pipeline": self.config.name, "file": target.name, "reason": summary}
        )
        return True

    def _archive_duplicate(self, duplicate: Duplicate) -> None:
        target = self.claims.archive_duplicate(duplicate)
        original = duplicate.original
        facts = self._facts(duplicate.claim.name, duplicate.sha256, archive=target.name)
        of = {"of": original.name, "state": original.state.value} if original else {"state": "in progress"}
        log.info("duplicate", extra={**facts, **of})

    def _facts(self, name: str, sha256: str, **extra: object) -> dict[str, object]:
        return {"pipeline": self.config.name, "file": name, "sha256": sha256, **extra}


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
