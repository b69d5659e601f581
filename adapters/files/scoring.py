"""Scoring one input stream chunk by chunk: decode -> score -> encode, in input order.

Shared by the folder protocol (which commits each chunk to the ledger) and ``bridgeway score`` (which shows
progress): both get the same bytes for the same input. Memory is bounded by the chunk size: one chunk is
decoded, scored and encoded at a time, and the next one is decoded on a helper thread meanwhile (decoding
and inference overlap; order is kept).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar

import numpy as np

from adapters.formats import EncodedResults, RecordSource, RejectsEncoder, ResultEncoder, SourceChunk
from adapters.pipeline import FileRef, RecordBatch, Rejection, ScoredBatch, ScoringPipeline

__all__ = ["ChunkOutput", "FileScoring"]

_T = TypeVar("_T")


@dataclass(slots=True)
class ChunkOutput:
    """The encoded results of one chunk, and what it accounted for."""

    last_record: int  # every record up to this number is accounted for (scored or rejected)
    scored: int
    rejected: int
    results: bytes
    rejects: bytes
    models: dict[str, str] = field(default_factory=dict)  # model version -> sha256 of the versions that ran
    rejections: list[Rejection] = field(default_factory=list)


class FileScoring:
    """Scores one input for one pipeline.

    ``check_fields``: fail before scoring when the input's fields (CSV header, copybook) lack a field the
    model or the carry list needs (raises MappingConfigError); off for JSON Lines, whose records may each
    have different fields.
    """

    def __init__(
        self,
        pipeline: ScoringPipeline,
        source: RecordSource,
        results: ResultEncoder,
        rejects: RejectsEncoder,
        ref: FileRef,
        *,
        check_fields: bool = True,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.results = results
        self.rejects = rejects
        self.ref = ref
        self._check_fields = check_fields

    def run(self, stream: BinaryIO, after: int = 0) -> Iterator[ChunkOutput]:
        """Outputs for every chunk holding records numbered above ``after`` (a resumed run skips the rest).

        Raises the codec's decode error for an unreadable input, MappingConfigError for missing fields, and
        the inference client's errors other than per-record rejections.
        """
        checked = not self._check_fields
        for chunk in _prefetched(self.source.chunks(stream)):
            if not checked and chunk.fields:
                self.pipeline.check_fields(chunk.fields)
                checked = True
            if chunk.last_record <= after:
                continue
            yield self._score(_records_after(chunk, after))

    def _score(self, chunk: SourceChunk) -> ChunkOutput:
        batch = chunk.batch
        scored = self.pipeline.score(batch, self.ref) if batch.n_rows else None
        encoded = self.results.encode(scored) if scored is not None else EncodedResults(b"", [])
        rejections = list(chunk.rejections)
        late = [*(scored.rejections if scored is not None else ()), *encoded.rejections]
        if late:
            rejections = sorted([*rejections, *late], key=lambda r: r.record_number)
        return ChunkOutput(
            last_record=chunk.last_record,
            scored=(scored.n_rows if scored is not None else 0) - len(encoded.rejections),
            rejected=len(rejections),
            results=encoded.data,
            rejects=self.rejects.encode(rejections, batch),
            models=_models(scored),
            rejections=rejections,
        )


def _records_after(chunk: SourceChunk, after: int) -> SourceChunk:
    numbers = chunk.batch.record_numbers
    if not after or not len(numbers) or numbers[0] > after:
        rejections = [r for r in chunk.rejections if r.record_number > after]
        return SourceChunk(chunk.batch, rejections, chunk.fields) if after else chunk
    keep = numbers > after
    columns = {name: np.asarray(values)[keep] for name, values in chunk.batch.columns.items()}
    batch = RecordBatch(columns=columns, record_numbers=numbers[keep])
    return SourceChunk(batch, [r for r in chunk.rejections if r.record_number > after], chunk.fields)


def _models(scored: ScoredBatch | None) -> dict[str, str]:
    if scored is None or not scored.n_rows:
        return {}
    versions = scored.columns["model_version"]
    shas = scored.columns["model_sha256"]
    if versions[0] == versions[-1] and shas[0] == shas[-1] and len(set(versions.tolist())) == 1:
        return {str(versions[0]): str(shas[0])}
    return {str(v): str(s) for v, s in zip(versions.tolist(), shas.tolist(), strict=True)}


_END = object()


def _prefetched(items: Iterator[_T]) -> Iterator[_T]:
    """Iterate ``items`` one step ahead on a helper thread (at most one item waits), re-raising its errors
    here. Closing the generator early stops the helper after its current step."""
    slots: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_END)
        except BaseException as exc:  # handed over to the consumer, which re-raises it
            slots.put(exc)

    helper = threading.Thread(target=produce, name="bridgeway-decode", daemon=True)
    helper.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while helper.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                helper.join(timeout=0.1)
