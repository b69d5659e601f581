"""One loaded, warmed-up model version and how it is built: session, scheduler, validator and statistics.

The core routes requests to ``ServedVersion`` objects and swaps them on reload; a ``ServedVersion`` counts its
in-flight requests so a replaced or unloaded version is closed only after they finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.batcher import BatchScheduler
from gateway.config import BatchingConfig, FieldMapping, ModelYaml, ServerSettings
from gateway.errors import BridgewayError, ModelLoadFailed
from gateway.inline import InlineRuns
from gateway.repository import VersionSource, file_sha256
from gateway.runtime import OnnxSession, SessionConfig
from gateway.scheduling import DirectScheduler, Scheduler
from gateway.stats import StatsRecorder
from gateway.types import BatchingInfo, ModelConfigInfo, TensorFields, TensorSpec
from gateway.validation import RequestValidator
from gateway.workers import WorkerPool

__all__ = ["LoadPlan", "ServedVersion", "batchable", "load_session", "serve_version"]

log = logging.getLogger(__name__)

PLATFORM = "onnxruntime_onnx"
# Upper bound of the default unbatched concurrency (see run_concurrency).
MAX_UNBATCHED_RUNS = 16
BatchHook = Callable[[str, str, int, int], None]  # (model, version, rows, infer_ns) after every run


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """Everything needed to bring up one version: where it is, its model.yaml and its share of threads."""

    source: VersionSource
    config: ModelYaml
    session: SessionConfig


@dataclass(eq=False)
class ServedVersion:
    """A version that answers requests. ``in_flight`` counts requests resolved to it and not yet answered."""

    name: str
    version: str
    sha256: str
    session: OnnxSession
    scheduler: Scheduler
    validator: RequestValidator
    stats: StatsRecorder
    config_info: ModelConfigInfo
    pool: WorkerPool
    in_flight: int = 0
    _idle: asyncio.Event | None = field(default=None, repr=False)

    def finished_one(self) -> None:
        """Called by the core after each request, on the loop."""
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no request is in flight; False if ``timeout_s`` passed first. Many may wait at once."""
        if self.in_flight == 0:
            return True
        if self._idle is None or self._idle.is_set():
            self._idle = asyncio.Event()  # a set event is stale; an unset one is shared by every waiter
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def close(self, error: BridgewayError) -> None:
        """Fail what is still queued with ``error`` and release the session and threads."""
        self.scheduler.close(error)
        self.pool.shutdown(error)
        self.session.close()


def batchable(inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...]) -> bool:
    """True when every input and output has a dynamic leading axis (the design's batching condition)."""
    specs = (*inputs, *outputs)
    return bool(inputs) and all(len(s.shape) >= 1 and s.shape[0] == -1 for s in specs)


def effective_batching(
    config: ModelYaml, settings: ServerSettings, session: OnnxSession, label: str
) -> BatchingConfig | None:
    """model.yaml's batching, else the server default; None when the model's signature cannot batch."""
    wanted = settings.default_batching if config.batching is None else (config.batching or None)
    if wanted is None:
        return None
    if not batchable(session.inputs, session.outputs):
        if config.batching:
            log.warning(
                "model %s: batching asked for but not every input and output has a dynamic "
                "leading axis; serving unbatched",
                label,
            )
        return None
    return wanted


def mapping_problems(config: ModelYaml, session: OnnxSession) -> list[str]:
    """Where model.yaml's field mapping contradicts the graph: unknown tensors, column counts that differ."""
    problems = []
    for role, mapping, specs in (
        ("inputs", config.inputs, session.inputs),
        ("outputs", config.outputs, session.outputs),
    ):
        by_name = {s.name: s for s in specs}
        for tensor, fields in mapping.items():
            spec = by_name.get(tensor)
            if spec is None:
                known = ", ".join(f"'{n}'" for n in by_name) or "none"
                problems.append(f"{role}.{tensor}: the model has no such {role[:-1]} ({role}: {known})")
                continue
            columns = spec.shape[-1] if len(spec.shape) >= 2 else 1
            if (
                fields.fields is not None
                and len(spec.shape) >= 2
                and columns >= 0
                and columns != len(fields.names)
            ):
                problems.append(
                    f"{role}.{tensor}.fields: {len(fields.names)} fields for a tensor of {columns} columns"
                )
            if fields.field is not None and columns not in (1, -1):
                problems.append(f"{role}.{tensor}.field: one field for a tensor of {columns} columns")
    return problems


def _fields(mapping: dict[str, FieldMapping]) -> tuple[TensorFields, ...]:
    return tuple(TensorFields(t, m.names, columns=m.fields is not None) for t, m in mapping.items())


def load_session(plan: LoadPlan) -> tuple[OnnxSession, str]:
    """Blocking (run it on a thread): hash the file, load it, warm it up. Raises ModelLoadFailed."""
    source = plan.source
    sha256 = file_sha256(source.path)
    session = OnnxSession.load(source.path, plan.session, source.label)
    problems = mapping_problems(plan.config, session)
    if problems:
        session.close()
        raise ModelLoadFailed(
            f"model {source.label}: {source.model}/model.yaml does not fit the graph: " + "; ".join(problems)
        )
    warmup = plan.config.warmup
    if warmup.enabled:
        seconds = session.warm_up(warmup.runs, warmup.batch_size)
        log.info("model %s warmed up in %.1f ms", source.label, seconds * 1000)
    return session, sha256


def _config_info(
    name: str, version: str, session: OnnxSession, batching: BatchingConfig | None, config: ModelYaml
) -> ModelConfigInfo:
    """The ModelConfig view: Triton leaves the batch axis out of ``dims`` when max_batch_size > 0."""
    inputs, outputs, info = session.inputs, session.outputs, None
    if batching is not None:
        inputs = tuple(TensorSpec(s.name, s.datatype, s.shape[1:]) for s in inputs)
        outputs = tuple(TensorSpec(s.name, s.datatype, s.shape[1:]) for s in outputs)
        info = BatchingInfo(
            batching.max_batch_size,
            batching.max_queue_delay_us,
            batching.preferred_batch_sizes,
            batching.max_queue_size,
        )
    return ModelConfigInfo(
        name=name,
        version=version,
        platform=PLATFORM,
        max_batch_size=batching.max_batch_size if batching is not None else 0,
        inputs=inputs,
        outputs=outputs,
        batching=info,
        description=config.description,
        input_fields=_fields(config.inputs),
        output_fields=_fields(config.outputs),
    )


def run_concurrency(plan: LoadPlan, settings: ServerSettings, batched: bool) -> int:
    """How many runs of one version may execute at once (each on its own worker thread).

    Batched: one batch at a time; the queue fills the next batch while it runs, and the event loop keeps a
    core for decoding requests. Unbatched: four per intra-op thread, between 4 and 16. Concurrent runs share
    the session's intra-op pool, and with spinning off that pool idles between the parallel parts of a run;
    overlapping runs fill those gaps. On 2 cores, 2 -> 8 took a 3M-parameter MLP at batch 64 x 8 callers from
    0.84 to 0.94 x the bare server (which runs up to 16); the cap bounds the activations held at once.
    """
    if plan.config.concurrency:
        return plan.config.concurrency
    if batched:
        return 1
    return settings.unbatched_concurrency or min(
        MAX_UNBATCHED_RUNS, max(4, 4 * plan.session.intra_op_threads)
    )


def serve_version(
    plan: LoadPlan, session: OnnxSession, sha256: str, settings: ServerSettings, on_batch: BatchHook
) -> ServedVersion:
    """Wrap a loaded session with its scheduler, validator and statistics (on the loop; cheap)."""
    name, version = plan.source.model, str(plan.source.version)
    batching = effective_batching(plan.config, settings, session, plan.source.label)
    stats = StatsRecorder(name, version)

    def record(rows: int, infer_ns: int) -> None:
        stats.batch_executed(rows, infer_ns)
        on_batch(name, version, rows, infer_ns)

    concurrency = run_concurrency(plan, settings, batched=batching is not None)
    pool = WorkerPool(concurrency, f"run-{plan.source.label}")
    scheduler: Scheduler
    if batching is None:
        inline = InlineRuns(plan.source.label, session.inputs)
        scheduler = DirectScheduler(
            session.run, pool, concurrency, plan.config.max_queue_size, record, inline
        )
    else:
        scheduler = BatchScheduler(
            session.run,
            pool,
            batching,
            concurrency,
            [s.name for s in session.inputs],
            session.output_names,
            record,
        )
    return ServedVersion(
        name=name,
        version=version,
        sha256=sha256,
        session=session,
        scheduler=scheduler,
        validator=RequestValidator(session.inputs, session.outputs, batched=batching is not None),
        stats=stats,
        config_info=_config_info(name, version, session, batching, plan.config),
        pool=pool,
    )
