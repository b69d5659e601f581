"""The transport-agnostic scoring core shared by the folder and AMQP pipelines (and ``bridgeway score``).

A transport decodes its input into a :class:`RecordBatch` (columns plus 1-based record numbers), describes
where the records came from with an :data:`InputRef`, and calls :meth:`ScoringPipeline.score`. It gets back a
:class:`ScoredBatch`: result columns for the accepted rows, in input order, each row carrying the model's
outputs and its lineage, plus a :class:`Rejection` for every row that could not be scored. Encoding the result
(CSV, JSON, fixed-width) and deciding what to do with errors (reject file, dead-letter, retry) stay with the
transport (STYLE §5.4).

Row-level problems never fail the batch: a value that cannot be converted, or a row the model rejects with
``InvalidInput``, becomes a rejection and the other rows go on. Everything else (``ModelNotReady``,
``QueueFull``, ``DeadlineExceeded``, ``RuntimeFailure``, ...) propagates unchanged from the inference client.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from adapters.batches import (
    FILE_LINEAGE_COLUMNS,
    MESSAGE_LINEAGE_COLUMNS,
    Column,
    FileRef,
    InputRef,
    MessageRef,
    RecordBatch,
    ScoredBatch,
)
from adapters.client.base import InferenceClient
from adapters.mapping import (
    FieldMapping,
    MappingConfigError,
    MappingOverride,
    Rejection,
    decode_outputs,
    encode_inputs,
    find_field,
    resolve_mapping,
)
from gateway.errors import InvalidInput
from gateway.types import InferRequest, Tensor

__all__ = [
    "FILE_LINEAGE_COLUMNS",
    "MESSAGE_LINEAGE_COLUMNS",
    "Column",
    "FileRef",
    "InputRef",
    "MappingConfigError",
    "MappingOverride",
    "MessageRef",
    "RecordBatch",
    "Rejection",
    "ScoredBatch",
    "ScoringPipeline",
    "parse_model_ref",
]


def parse_model_ref(model: str) -> tuple[str, str]:
    """Split ``"name[:version]"`` into ``(name, version)``; version is ``""`` for the default one.

    >>> parse_model_ref("breast-cancer:2")
    ('breast-cancer', '2')
    >>> parse_model_ref("breast-cancer")
    ('breast-cancer', '')

    Raises MappingConfigError for an empty name or a version that is not a positive integer.
    """
    name, sep, version = model.strip().partition(":")
    if not name or (sep and not (version.isdigit() and int(version) > 0)):
        raise MappingConfigError(
            f"model {model!r}: expected NAME or NAME:VERSION with VERSION a positive integer"
        )
    return name, version


class ScoringPipeline:
    """Records -> field mapping -> inference client -> result columns with lineage.

    Construction asks the client for the model's metadata and configuration, resolves the field mapping
    (model.yaml's, overridden per pipeline by ``mapping``) and fails early with ``MappingConfigError`` when a
    model input has no mapping or a carried field collides with an output or lineage column. It raises the
    client's errors (``ModelNotFound``, ``ModelNotReady``, ...) when the model cannot be described.

    ``score`` is thread-safe (the client is); one pipeline serves a whole process.
    """

    def __init__(
        self,
        client: InferenceClient,
        model: str,
        *,
        carry: Sequence[str] = (),
        mapping: MappingOverride | None = None,
        max_batch_rows: int | None = None,
        record_fields: Sequence[str] | None = None,
        timeout_s: float | None = None,
        run_id: str | None = None,
        max_in_flight: int = 2,
    ) -> None:
        """
        Args:
            client: where inference happens (local, remote or a fake).
            model: ``"name"`` or ``"name:version"``.
            carry: record fields copied unchanged into every result row (matched like model fields).
            mapping: per-pipeline replacements for model.yaml's input/output field lists.
            max_batch_rows: most rows per inference call; defaults to the model's ``max_batch_size``
                (or 1024 for an unbatched model with a dynamic leading axis). Never above the model's limit.
            record_fields: the field names the records will have (copybook layout, CSV header), when known
                up front: then a missing input or carried field fails here instead of on every row.
            timeout_s: deadline for each inference call.
            run_id: lineage ``run_id``; a fresh random id when not given.
            max_in_flight: inference calls one ``score`` keeps in flight at once (1: strictly one by one).
        """
        self._client = client
        self.model_name, self._version = parse_model_ref(model)
        metadata = client.model_metadata(self.model_name, self._version)
        config = client.model_config(self.model_name, self._version)
        self.mapping: FieldMapping = resolve_mapping(metadata, config, mapping, carry)
        self.max_batch_rows = self.mapping.rows_per_call(max_batch_rows)
        self.run_id = run_id or uuid.uuid4().hex
        self._timeout_s = timeout_s
        if max_in_flight < 1:
            raise MappingConfigError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._max_in_flight = max_in_flight
        if record_fields is not None:
            self.check_fields(record_fields)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Names of the model output columns, in result order."""
        return self.mapping.output_columns

    @property
    def carry(self) -> tuple[str, ...]:
        return self.mapping.carry

    def result_columns(self, ref: InputRef) -> tuple[str, ...]:
        """Every column of a ScoredBatch for this kind of input, in order (for headers, result copybooks)."""
        lineage = FILE_LINEAGE_COLUMNS if isinstance(ref, FileRef) else MESSAGE_LINEAGE_COLUMNS
        return (*self.mapping.carry, *self.mapping.output_columns, *lineage)

    def check_fields(self, record_fields: Sequence[str]) -> None:
        """Raise MappingConfigError unless every input and carried field is among ``record_fields``.

        The message names the model, the input tensor, the missing field and the fields available.
        """
        self.mapping.check_fields(self.model_name, record_fields)

    def score(self, batch: RecordBatch, ref: InputRef) -> ScoredBatch:
        """Score every row of ``batch``; rows that cannot be scored become rejections.

        Rows are sent in inference calls of at most ``max_batch_rows``. When the model answers
        ``InvalidInput`` for a multi-row call, the call is bisected until the offending rows are isolated;
        only those are rejected, with the server's message. Other client errors propagate unchanged: the
        transport decides (retry, leave claimed, dead-letter). Raises ValueError when a MessageRef does not
        have one entry per row.
        """
        if isinstance(ref, MessageRef):
            _check_message_ref(ref, batch.n_rows)
        encoded = encode_inputs(self.mapping, batch.columns, batch.record_numbers)
        rejected = list(encoded.rejections)
        n, step = len(encoded.indices), self.max_batch_rows
        spans = [(start, min(start + step, n)) for start in range(0, n, step)]

        def run(span: tuple[int, int]) -> list[_Call]:
            calls: list[_Call] = []
            self._infer_span(encoded.tensors, span[0], span[1], calls)
            return calls

        if len(spans) > 1 and self._max_in_flight > 1:
            # Overlap calls so the model never idles while one call's result travels back and the next is
            # queued (the batcher's queue delay, a network round trip). map() keeps the input order.
            with ThreadPoolExecutor(self._max_in_flight, thread_name_prefix="bridgeway-score") as pool:
                per_span = list(pool.map(run, spans))
        else:
            per_span = [run(span) for span in spans]
        calls = [call for span_calls in per_span for call in span_calls]
        return self._assemble(batch, ref, encoded.indices, calls, rejected)

    def _infer_span(
        self,
        tensors: Sequence[Tensor],
        start: int,
        stop: int,
        calls: list[_Call],
    ) -> None:
        """Infer accepted rows [start, stop), appending to ``calls`` in row order.

        On InvalidInput for several rows, bisect: halves that pass are kept, and each single row the model
        still refuses is recorded as a rejected call with the server's message.
        """
        request = InferRequest(
            model_name=self.model_name,
            model_version=self._version,
            inputs=self.mapping.call_inputs(tensors, start, stop),
            outputs=self.mapping.requested_outputs,
        )
        try:
            response = self._client.infer(request, timeout_s=self._timeout_s)
        except InvalidInput as exc:
            if stop - start == 1:
                calls.append(_Call(start, stop, None, str(exc)))
                return
            middle = (start + stop) // 2
            self._infer_span(tensors, start, middle, calls)
            self._infer_span(tensors, middle, stop, calls)
            return
        outputs = decode_outputs(self.mapping, response.outputs, stop - start)
        lineage = (response.model_version, response.model_sha256, _now())
        calls.append(_Call(start, stop, outputs, "", lineage))

    def _assemble(
        self,
        batch: RecordBatch,
        ref: InputRef,
        accepted: np.ndarray,
        calls: list[_Call],
        rejected: list[tuple[int, Rejection]],
    ) -> ScoredBatch:
        scored = [c for c in calls if c.outputs is not None]
        for call in calls:
            if call.outputs is None:
                row = int(accepted[call.start])
                rejected.append((row, Rejection(int(batch.record_numbers[row]), "", call.reason)))
        positions = _concat([np.arange(c.start, c.stop) for c in scored], np.intp)
        indices = accepted[positions]
        columns: dict[str, np.ndarray] = {}
        for name in self.mapping.carry:
            columns[name] = _carried(batch, name, indices)
        for name in self.mapping.output_columns:
            columns[name] = _concat([c.outputs[name] for c in scored if c.outputs], None)
        columns.update(self._lineage(batch, ref, indices, scored))
        rejected.sort(key=lambda item: item[0])
        return ScoredBatch(
            columns=columns,
            indices=indices,
            record_numbers=batch.record_numbers[indices],
            rejections=[rejection for _, rejection in rejected],
        )

    def _lineage(
        self, batch: RecordBatch, ref: InputRef, indices: np.ndarray, scored: list[_Call]
    ) -> dict[str, np.ndarray]:
        counts = [c.stop - c.start for c in scored]

        def per_call(position: int) -> np.ndarray:
            values = np.array([c.lineage[position] for c in scored], dtype=object)
            return np.repeat(values, counts) if scored else np.empty(0, dtype=object)

        n = len(indices)
        columns = {
            "model_name": _constant(self.model_name, n),
            "model_version": per_call(0),
            "model_sha256": per_call(1),
        }
        if isinstance(ref, FileRef):
            columns["input_name"] = _constant(ref.name, n)
            columns["input_sha256"] = _constant(ref.sha256, n)
            columns["record_no"] = batch.record_numbers[indices]
        else:
            columns["message_id"] = _object_array(ref.message_ids)[indices]
            columns["correlation_id"] = _object_array(ref.correlation_ids)[indices]
        columns["run_id"] = _constant(self.run_id, n)
        columns["processed_at"] = per_call(2)
        return columns


@dataclass(slots=True)
class _Call:
    """One inference call over accepted rows [start, stop): its output columns, or why it was rejected."""

    start: int
    stop: int
    outputs: dict[str, np.ndarray] | None
    reason: str = ""
    lineage: tuple[str, str, str] = ("", "", "")  # model_version, model_sha256, processed_at


def _constant(value: Any, n: int) -> np.ndarray:
    """An object column of ``value`` n times (``repeat`` is several times faster than ``np.full`` here)."""
    return np.array([value], dtype=object).repeat(n)


def _check_message_ref(ref: MessageRef, n_rows: int) -> None:
    if len(ref.message_ids) != n_rows or len(ref.correlation_ids) != n_rows:
        raise ValueError(
            f"MessageRef has {len(ref.message_ids)} message id(s) and {len(ref.correlation_ids)} "
            f"correlation id(s) for {n_rows} row(s); expected one of each per row"
        )


def _now() -> str:
    """UTC, RFC 3339 with milliseconds: 2024-05-01T12:00:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _object_array(values: Column) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _carried(batch: RecordBatch, name: str, indices: np.ndarray) -> np.ndarray:
    """The carried field's values for the accepted rows; ``None`` where the records lack the field."""
    column = find_field(batch.columns, name)
    if column is None:
        return _constant(None, len(indices))
    values: np.ndarray = _object_array(batch.columns[column])[indices]
    return values


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=dtype or object)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
