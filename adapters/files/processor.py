"""Taking one claimed file from its ledger state to DONE (RELIABILITY.md "Folder state machine").

``CLAIMED``/``CHUNK``: the file is scored chunk by chunk into temporary outputs in the outbox; after each
chunk both temporaries are synced and the ledger records the checkpoint (records done, counts, and the
committed length of each temporary). A resumed run truncates the temporaries to those lengths and skips
the records already done, so at most one chunk is scored twice. ``SCORED``: the outputs are published
(rejects, result, manifest, then the optional ``.done`` marker, each by rename); ``PUBLISHED``: the input is
archived; ``DONE``.

Errors are not handled here: the watcher decides (``dispositions``) whether a file is retried later or
quarantined. :class:`FileFailed` is this module's own "the file is at fault" error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from adapters.audit import PipelineAudit
from adapters.client.base import InferenceClient
from adapters.config import JsonlInput, Pipeline
from adapters.files.faults import FaultPlan
from adapters.files.folders import Folders, fsync_dir
from adapters.files.ledger import Checkpoint, Entry, Ledger, State
from adapters.files.manifest import manifest_document
from adapters.files.outbox import (
    OutputFile,
    ResumeError,
    digest,
    free_name,
    publish,
    remove_quietly,
    temporary,
    write_atomic,
)
from adapters.files.scoring import ChunkOutput, FileScoring
from adapters.formats import (
    FieldNeeds,
    OutputNames,
    output_names,
    record_source,
    rejects_encoder,
    result_encoder,
)
from adapters.mapping import MappingOverride
from adapters.pipeline import FileRef, Rejection, ScoringPipeline
from gateway.types import TensorFields

__all__ = ["FileFailed", "FileProcessor", "Stopped", "mapping_override"]

log = logging.getLogger("adapters.files")

_SHOWN_REJECTS = 10


class FileFailed(Exception):
    """The file itself cannot be scored (e.g. ``on_bad_record: fail`` and a record was bad)."""


class Stopped(Exception):
    """The pipeline is stopping: the file stays claimed at its last checkpoint and resumes on restart."""


class FileProcessor:
    """Runs the state machine for the claimed files of one pipeline. One file at a time, one thread."""

    def __init__(
        self,
        config: Pipeline,
        folders: Folders,
        ledger: Ledger,
        client: InferenceClient,
        *,
        faults: FaultPlan | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.time,
        audit: PipelineAudit | None = None,
    ) -> None:
        self.config = config
        self.audit = audit or PipelineAudit(None, config.name, config.model)
        self.output = config.result
        self.folders = folders
        self.ledger = ledger
        self.client = client
        self.faults = faults or FaultPlan()
        self._stop = stop or threading.Event()
        self._clock = clock
        self.run_id = uuid.uuid4().hex
        self._chunks_written = 0
        rejects_ext = rejects_encoder(self.output).extension
        self._extensions = (_result_extension(config), rejects_ext)

    def names(self, input_name: str) -> OutputNames:
        return output_names(input_name, *self._extensions)

    def derived_names(self, input_name: str) -> list[str]:
        """Every name the pipeline creates for an input (for the file-name length check)."""
        names = self.names(input_name)
        finals = [names.result, names.rejects, names.manifest, names.done]
        return finals + [temporary(Path(n)).name for n in finals]

    def process(self, entry: Entry) -> Entry:
        """Advance ``entry`` to DONE. Raises FileFailed, Stopped, or what scoring raised."""
        if entry.state in (State.CLAIMED, State.CHUNK):
            entry = self._score(entry)
        if entry.state is State.SCORED:
            entry = self._publish(entry)
        if entry.state is State.PUBLISHED:
            entry = self._archive(entry)
        return entry

    # --- scoring --------------------------------------------------------------------------------------------

    def _score(self, entry: Entry) -> Entry:
        pipeline = self._pipeline()
        ref = FileRef(entry.name, entry.sha256)
        scoring = FileScoring(
            pipeline,
            record_source(self.config.input, self.config.chunk_rows, FieldNeeds(pipeline)),
            result_encoder(self.output, pipeline.result_columns(ref)),
            rejects_encoder(self.output),
            ref,
            check_fields=not isinstance(self.config.input, JsonlInput),
        )
        names = self.names(entry.name)
        result = OutputFile(temporary(self.folders.outbox / names.result), self.faults)
        rejects = OutputFile(temporary(self.folders.outbox / names.rejects), self.faults)
        with result, rejects:
            checkpoint = self._open_outputs(entry, scoring, result, rejects)
            with _open_input(Path(entry.work_path)) as stream:
                for output in scoring.run(stream, checkpoint.records_done):
                    if self._stop.is_set():
                        raise Stopped(
                            f"stopping; {entry.name} resumes after record {checkpoint.records_done}"
                        )
                    checkpoint = self._commit(entry, output, checkpoint, result, rejects)
            trailer = scoring.results.trailer(checkpoint.scored)
            if trailer:
                result.write(trailer)
                result.sync()
            checkpoint = dataclasses.replace(checkpoint, result_offset=result.size)
        self.ledger.checkpoint(entry.sha256, State.SCORED, checkpoint, self._clock())
        self.faults.reached("after_scored")
        log.info("scored", extra=self._facts(entry, scored=checkpoint.scored, rejected=checkpoint.rejected))
        return self._reload(entry)

    def _open_outputs(
        self, entry: Entry, scoring: FileScoring, result: OutputFile, rejects: OutputFile
    ) -> Checkpoint:
        """Fresh temporaries with their headers, or the resumed ones cut back to the checkpoint."""
        checkpoint = entry.checkpoint
        if entry.state is State.CHUNK:
            try:
                result.resume(checkpoint.result_offset)
                rejects.resume(checkpoint.rejects_offset)
                log.info("resumed", extra=self._facts(entry, after_record=checkpoint.records_done))
                return checkpoint
            except ResumeError as exc:
                result.close()
                rejects.close()
                log.warning("restarting", extra=self._facts(entry, reason=str(exc)))
        result.create(scoring.results.header())
        rejects.create(scoring.rejects.header())
        checkpoint = Checkpoint(result_offset=result.sync(), rejects_offset=rejects.sync())
        now = self._clock()
        self.ledger.started(entry.sha256, now)
        self.ledger.checkpoint(entry.sha256, State.CHUNK, checkpoint, now)
        return checkpoint

    def _commit(
        self, entry: Entry, output: ChunkOutput, before: Checkpoint, result: OutputFile, rejects: OutputFile
    ) -> Checkpoint:
        if output.rejections and self.config.on_bad_record == "fail":
            raise FileFailed("on_bad_record is 'fail' and a record was bad: " + _describe(output.rejections))
        limit = self.config.reject_limit
        if limit is not None and before.rejected + output.rejected > limit:
            total = before.rejected + output.rejected
            raise FileFailed(
                f"{total} records rejected, more than reject_limit {limit}: " + _describe(output.rejections)
            )
        self._chunks_written += 1
        n = self._chunks_written
        half = len(output.results) // 2
        result.write(output.results[:half])
        self.faults.reached(f"mid_chunk:{n}")
        result.write(output.results[half:])
        rejects.write(output.rejects)
        checkpoint = Checkpoint(
            chunk=before.chunk + 1,
            records_done=output.last_record,
            scored=before.scored + output.scored,
            rejected=before.rejected + output.rejected,
            result_offset=result.sync(),
            rejects_offset=rejects.sync(),
            models={**before.models, **output.models},
        )
        self.ledger.checkpoint(entry.sha256, State.CHUNK, checkpoint, self._clock())
        self.faults.reached(f"after_chunk:{n}")
        return checkpoint

    def _pipeline(self) -> ScoringPipeline:
        return ScoringPipeline(
            self.client,
            self.config.model,
            carry=self.output.carry,
            mapping=mapping_override(self.config),
            max_batch_rows=self.config.max_batch_rows,
            timeout_s=self.config.timeout_s,
            run_id=self.run_id,
        )

    # --- publishing and archiving ---------------------------------------------------------------------------

    def _publish(self, entry: Entry) -> Entry:
        names = self.names(entry.name)
        outbox = self.folders.outbox
        finals = {kind: outbox / getattr(names, kind) for kind in ("result", "rejects", "manifest")}
        result_sha, result_size = digest(_present(finals["result"]))
        rejects_facts = None
        if entry.checkpoint.rejected:
            rejects_facts = (names.rejects, *digest(_present(finals["rejects"])))
            publish(temporary(finals["rejects"]), finals["rejects"])
        else:  # a replay must not leave the rejects of an earlier version of this input behind
            remove_quietly(temporary(finals["rejects"]))
            remove_quietly(finals["rejects"])
        publish(temporary(finals["result"]), finals["result"])
        document = manifest_document(
            self.config,
            entry,
            self.run_id,
            (names.result, result_sha, result_size),
            rejects_facts,
            self._clock(),
        )
        write_atomic(finals["manifest"], document, self.faults)
        if self.config.source.kind == "files" and self.config.source.done_marker:
            write_atomic(outbox / names.done, b"", self.faults)
        archive = free_name(self.folders.archive, entry.name, entry.sha256[:12])
        self.ledger.published(entry.sha256, str(archive), self._clock())
        log.info("published", extra=self._facts(entry, result=names.result, result_sha256=result_sha))
        self.audit_finished(entry, "OK")
        self.faults.reached("after_publish")
        return self._reload(entry)

    def _archive(self, entry: Entry) -> Entry:
        source, target = Path(entry.work_path), Path(entry.archive_path)
        if os.path.lexists(source):
            os.rename(source, target)
            fsync_dir(target.parent)
        try:
            source.parent.rmdir()
        except OSError:
            pass
        self.ledger.done(entry.sha256, self._clock())
        log.info("archived", extra=self._facts(entry, archive=target.name))
        return self._reload(entry)

    def audit_finished(self, entry: Entry, outcome: str) -> None:
        """The file's audit event: published (``OK``) or moved to errors (``FAILED``)."""
        checkpoint, started = entry.checkpoint, entry.started_at or entry.claimed_at
        self.audit.file_finished(
            name=entry.name,
            sha256=entry.sha256,
            scored=checkpoint.scored,
            rejected=checkpoint.rejected,
            models=checkpoint.models,
            outcome=outcome,
            seconds=max(0.0, self._clock() - started),
            run_id=self.run_id,
        )

    def discard_outputs(self, entry: Entry) -> None:
        """Remove the temporaries of a file that goes to errors/ (its final outputs, if any, stay)."""
        names = self.names(entry.name)
        for name in (names.result, names.rejects):
            remove_quietly(temporary(self.folders.outbox / name))

    def _reload(self, entry: Entry) -> Entry:
        fresh = self.ledger.get(entry.sha256)
        assert fresh is not None
        return fresh

    def _facts(self, entry: Entry, **extra: object) -> dict[str, object]:
        return {"pipeline": self.config.name, "file": entry.name, "sha256": entry.sha256, **extra}


def mapping_override(config: Pipeline) -> MappingOverride | None:
    """The pipeline's ``mapping`` section as the scoring core's override."""
    section = config.mapping
    if section is None:
        return None
    return MappingOverride(
        inputs=tuple(TensorFields(t, tuple(f)) for t, f in section.inputs.items()),
        outputs=tuple(TensorFields(t, tuple(f), columns=len(f) > 1) for t, f in section.outputs.items()),
        allow_nan=section.allow_nan,
    )


def _result_extension(config: Pipeline) -> str:
    """csv / jsonl, or "" (keep the input's own extension) for fixed-width results."""
    fmt = config.result.format
    return "" if fmt == "fixed" else fmt


def _present(final: Path) -> Path:
    """The temporary while it exists, else the already published final file."""
    temp = temporary(final)
    return temp if os.path.lexists(temp) else final


def _open_input(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    return os.fdopen(fd, "rb", buffering=1 << 20)


def _describe(rejections: list[Rejection]) -> str:
    shown = "; ".join(
        f"record {r.record_number}" + (f", field {r.field}" if r.field else "") + f": {r.reason}"
        for r in rejections[:_SHOWN_REJECTS]
    )
    more = len(rejections) - _SHOWN_REJECTS
    return shown + (f"; and {more} more" if more > 0 else "")
