"""Running ``bridgeway score``: one input through the scoring core into a result file, with progress."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from adapters.cli._score_options import ScoreOptions
from adapters.client.base import InferenceClient
from adapters.codecs.errors import CodecError
from adapters.config_formats import JsonlInput
from adapters.files.faults import FaultPlan
from adapters.files.outbox import OutputFile, publish, remove_quietly, temporary
from adapters.files.scoring import ChunkOutput, FileScoring
from adapters.formats import FieldNeeds, record_source, rejects_encoder, result_encoder
from adapters.mapping import MappingConfigError
from adapters.pipeline import FileRef, ScoringPipeline, parse_model_ref
from gateway.errors import BridgewayError

__all__ = ["ScoreFailed", "Summary", "run_score"]

_SHOWN_REJECTS = 5


class ScoreFailed(Exception):
    """The file could not be scored; the message says why (no traceback)."""


@dataclass(slots=True)
class Summary:
    model: str
    scored: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects_file: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        versions = ", ".join(sorted(self.versions)) or "-"
        rate = (self.scored + self.rejected) / self.seconds if self.seconds > 0 else 0.0
        rejects = f" (see {self.rejects_file})" if self.rejected else ""
        return (
            f"scored {self.scored:,} records, rejected {self.rejected:,}{rejects}; model {self.model} "
            f"version {versions}; {self.seconds:.2f} s, {rate:,.0f} records/s"
        )


def run_score(options: ScoreOptions, *, show_progress: bool, environ: Mapping[str, str]) -> Summary:
    """Score the input into the output. Raises ScoreFailed with a one-line reason."""
    started = time.perf_counter()
    faults = FaultPlan.from_env(environ)
    try:
        with _client(options) as client:
            summary = _score(options, client, show_progress, faults)
    except (BridgewayError, MappingConfigError, CodecError, UnicodeError) as exc:
        raise ScoreFailed(str(exc)) from exc
    except OSError as exc:
        raise ScoreFailed(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")) from exc
    summary.seconds = time.perf_counter() - started
    return summary


@contextmanager
def _client(options: ScoreOptions) -> Iterator[InferenceClient]:
    from adapters.cli._runtime import RuntimeSetupError, remote_client

    if options.gateway_target is not None:
        try:
            client = remote_client(
                [options.gateway_target], token_file=options.token_file, timeout_s=options.timeout_s
            )
        except RuntimeSetupError as exc:
            raise ScoreFailed(str(exc)) from exc
    else:
        if not options.models_dir.is_dir():
            raise ScoreFailed(f"--models: {options.models_dir} is not a folder")
        from adapters.client.local import LocalInferenceClient
        from gateway.config import ServerSettings

        client = LocalInferenceClient(
            ServerSettings(models_dir=options.models_dir), timeout_s=options.timeout_s
        )
        client.start()
    try:
        yield client
    finally:
        client.close()


def _score(options: ScoreOptions, client: InferenceClient, show_progress: bool, faults: FaultPlan) -> Summary:
    pipeline = ScoringPipeline(
        client, options.model, carry=options.output_spec.carry, timeout_s=options.timeout_s
    )
    ref = FileRef(options.input_path.name, _sha256(options.input_path))
    scoring = FileScoring(
        pipeline,
        record_source(options.input_spec, options.chunk_rows, FieldNeeds(pipeline)),
        result_encoder(options.output_spec, pipeline.result_columns(ref)),
        rejects_encoder(options.output_spec),
        ref,
        check_fields=not isinstance(options.input_spec, JsonlInput),
    )
    output = options.output
    rejects_path = output.with_name(f"{output.stem}.rejects.{scoring.rejects.extension}")
    summary = Summary(model=parse_model_ref(options.model)[0], rejects_file=rejects_path.name)
    results = OutputFile(temporary(output), faults)
    rejects = OutputFile(temporary(rejects_path), faults)
    try:
        with ExitStack() as stack:
            stream = stack.enter_context(open(options.input_path, "rb", buffering=1 << 20))
            stack.enter_context(results)
            stack.enter_context(rejects)
            progress = stack.enter_context(_progress(show_progress, options.input_path.stat().st_size))
            results.create(scoring.results.header())
            rejects.create(scoring.rejects.header())
            for chunk in scoring.run(stream):
                _write(chunk, options, results, rejects, summary)
                progress(stream)
            results.write(scoring.results.trailer(summary.scored))
            results.sync()
            rejects.sync()
    except BaseException:
        remove_quietly(temporary(output))
        remove_quietly(temporary(rejects_path))
        raise
    publish(temporary(output), output)
    if summary.rejected:
        publish(temporary(rejects_path), rejects_path)
    else:
        remove_quietly(temporary(rejects_path))
        remove_quietly(rejects_path)
    return summary


def _write(
    chunk: ChunkOutput, options: ScoreOptions, results: OutputFile, rejects: OutputFile, summary: Summary
) -> None:
    if chunk.rejections and options.on_bad_record == "fail":
        shown = "; ".join(
            f"record {r.record_number}" + (f", field {r.field}" if r.field else "") + f": {r.reason}"
            for r in chunk.rejections[:_SHOWN_REJECTS]
        )
        raise ScoreFailed(f"--on-bad-record fail: {shown}")
    results.write(chunk.results)
    rejects.write(chunk.rejects)
    summary.scored += chunk.scored
    summary.rejected += chunk.rejected
    summary.versions.update(chunk.models)


def _sha256(path: os.PathLike[str]) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Callable[[BinaryIO], None]]:
    """A function that updates a progress bar (on stderr) from the input stream's position."""
    if not show:
        yield lambda stream: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("scoring"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("score", total=total or None)

        def update(stream: BinaryIO) -> None:
            bar.update(task, completed=min(total, stream.tell()))

        yield update
