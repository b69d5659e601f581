"""From a pipeline's ``input``/``output`` settings to record readers and writers around the scoring core.

The codecs (``adapters.codecs``) turn bytes into column chunks and columns into bytes; this module wires
them to the scoring pipeline's shapes: a :class:`RecordSource` yields :class:`~adapters.pipeline.RecordBatch`
objects with the records that could not be decoded as rejections, a :class:`ResultEncoder` writes a
:class:`~adapters.pipeline.ScoredBatch`, and a :class:`RejectsEncoder` writes ``<name>.rejects.<ext>`` lines
(record number, field, reason, and the carried fields of the record when it decoded). Both the folder
protocol and ``bridgeway score`` use them, so a file scores the same way through either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, BinaryIO, Protocol

import numpy as np

from adapters.codecs.chunks import DecodedChunk
from adapters.codecs.copybook import Framing, Layout, TrailerCheck, get_codepage, parse_copybook
from adapters.codecs.csv import CsvDialect, CsvReader, CsvWriter
from adapters.codecs.fixed import FixedReader, FixedWriter
from adapters.codecs.jsonl_columns import JsonlReader, JsonlWriter
from adapters.config_formats import (
    CsvInput,
    CsvOutput,
    FixedInput,
    FixedOutput,
    InputSpec,
    JsonlInput,
    JsonlOutput,
    OutputSpec,
)
from adapters.mapping import find_field, normalise
from adapters.pipeline import RecordBatch, Rejection, ScoredBatch, ScoringPipeline

__all__ = [
    "REJECT_COLUMNS",
    "EncodedResults",
    "FieldNeeds",
    "OutputNames",
    "RecordSource",
    "RejectsEncoder",
    "ResultEncoder",
    "SourceChunk",
    "fixed_reader",
    "load_layout",
    "output_names",
    "record_source",
    "rejects_encoder",
    "result_encoder",
]

#: The columns of a rejects file, before the carried fields.
REJECT_COLUMNS = ("record_no", "field", "reason")

_NUMERIC = frozenset("iuf")


class FieldNeeds:
    """Which record fields a pipeline reads, and which of them to parse as numbers.

    Matching is the mapping's (case-insensitive, ``-`` and ``_`` alike, dotted paths by their last part).
    Carried fields are kept as text even when they also feed a numeric input, so that they are written back
    exactly as they came.
    """

    def __init__(self, pipeline: ScoringPipeline) -> None:
        numeric: set[str] = set()
        text: set[str] = {normalise(name) for name in pipeline.carry}
        for plan in pipeline.mapping.inputs:
            target = numeric if plan.datatype.numpy.kind in _NUMERIC else text
            target.update(normalise(field) for field in plan.fields)
        self._text = text
        self._numeric = numeric - text

    def wanted(self, name: str) -> bool:
        return self._key(name) is not None

    def numeric(self, name: str) -> bool:
        key = self._key(name)
        return key is not None and key in self._numeric

    def _key(self, name: str) -> str | None:
        key = normalise(name)
        for candidate in (key, key.rsplit(".", 1)[-1]):
            if candidate in self._numeric or candidate in self._text:
                return candidate
        return None


@dataclass(slots=True)
class SourceChunk:
    """A batch of decoded records, the rejections of records that did not decode, and the input's fields."""

    batch: RecordBatch
    rejections: list[Rejection]
    fields: tuple[str, ...]

    @property
    def last_record(self) -> int:
        top = int(self.batch.record_numbers[-1]) if self.batch.n_rows else 0
        return max([top, *(r.record_number for r in self.rejections)])


class _Reader(Protocol):
    def chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]: ...


class RecordSource:
    """Decodes an input stream into record batches of at most ``rows`` records."""

    def __init__(self, reader: _Reader, rows: int) -> None:
        self._reader = reader
        self.rows = rows

    def chunks(self, stream: BinaryIO) -> Iterator[SourceChunk]:
        """Chunks in input order. Raises the codec's decode error for an input unreadable as a whole."""
        for chunk in self._reader.chunks(stream, self.rows):
            rejections = [Rejection(b.record_number, b.field, b.reason) for b in chunk.bad]
            batch = RecordBatch(columns=chunk.columns, record_numbers=chunk.record_numbers)
            yield SourceChunk(batch, rejections, chunk.fields)


def record_source(spec: InputSpec, rows: int, needs: FieldNeeds | None = None) -> RecordSource:
    """The reader for an ``input`` section; ``needs`` limits decoding to the fields the model uses."""
    wanted = needs.wanted if needs is not None else None
    if isinstance(spec, CsvInput):
        dialect = CsvDialect(
            delimiter=spec.delimiter,
            quotechar=spec.quotechar,
            quoting=spec.quoting,
            header=spec.header,
            columns=spec.columns or (),
            decimal=spec.decimal,
            encoding=spec.encoding,
        )
        numeric = needs.numeric if needs is not None else (lambda name: False)
        return RecordSource(CsvReader(dialect, wanted=wanted, numeric=numeric), rows)
    if isinstance(spec, JsonlInput):
        return RecordSource(JsonlReader(spec.encoding, wanted=wanted), rows)
    if isinstance(spec, FixedInput):
        numeric = needs.numeric if needs is not None else (lambda name: False)
        return RecordSource(fixed_reader(spec, wanted, numeric), rows)
    raise ValueError(f"input format {spec.format!r} is for messages, not files")


def fixed_reader(
    spec: FixedInput,
    wanted: Callable[[str], bool] | None = None,
    numeric: Callable[[str], bool] = lambda name: False,
) -> FixedReader:
    """The reader of a fixed-width ``input`` section. Raises OSError or CopybookSyntaxError (with line and
    column) for a copybook that cannot be read or parsed."""
    layout = load_layout(spec.copybook, spec.record)
    length = spec.record_length or (layout.record_length if spec.record_format in ("F", "FB") else None)
    trailer = None
    if spec.trailer_count_field is not None:
        trailer_layout = load_layout(spec.trailer_copybook or spec.copybook, spec.trailer_record)
        trailer = TrailerCheck(trailer_layout, spec.trailer_count_field)
    framing = Framing(
        record_format=spec.record_format,
        record_length=length,
        rdw_order=spec.rdw_order,
        rdw_includes_header=spec.rdw_includes_header,
        skip_trailer=(length or 0) if trailer is not None else 0,
    )
    codepage = get_codepage(spec.encoding)
    return FixedReader(layout, framing, codepage, trailer=trailer, wanted=wanted, numeric=numeric)


def load_layout(path: Path, record: str | None) -> Layout:
    """Parse a copybook file; error messages name the file by its base name."""
    text = path.read_text(encoding="utf-8", errors="strict")
    return parse_copybook(text, record=record, source=path.name)


class _Writer(Protocol):
    def header(self) -> bytes: ...

    def encode(self, values: Any) -> bytes: ...


@dataclass(slots=True)
class EncodedResults:
    """The bytes of one chunk's results, and the scored rows that could not be written (fixed-width
    results whose value does not fit the result copybook), as rejections."""

    data: bytes
    rejections: list[Rejection]


class ResultEncoder:
    """Encodes scored batches in the output format; ``columns`` are the result columns in order."""

    def __init__(self, writer: _Writer, columns: Sequence[str], extension: str) -> None:
        self._writer = writer
        self.columns = tuple(columns)
        self.extension = extension

    def header(self) -> bytes:
        return self._writer.header()

    def encode(self, scored: ScoredBatch) -> EncodedResults:
        if not scored.n_rows:
            return EncodedResults(b"", [])
        data = self._writer.encode(scored.columns)
        failures: Sequence[tuple[int, str, str]] = getattr(self._writer, "failures", ())
        numbers = scored.record_numbers
        return EncodedResults(
            data, [Rejection(int(numbers[row]), field, why) for row, field, why in failures]
        )

    def trailer(self, records: int) -> bytes:
        """Bytes that close the output after ``records`` results (none for CSV and JSON Lines)."""
        closing = getattr(self._writer, "trailer", None)
        return closing(records) if closing is not None else b""


def result_encoder(spec: OutputSpec, columns: Sequence[str]) -> ResultEncoder:
    """The encoder for an ``output`` section (files: csv, jsonl or fixed)."""
    if isinstance(spec, CsvOutput):
        return ResultEncoder(CsvWriter(_output_dialect(spec), columns), columns, "csv")
    if isinstance(spec, JsonlOutput):
        return ResultEncoder(JsonlWriter(columns), columns, "jsonl")
    if isinstance(spec, FixedOutput):
        layout = load_layout(spec.result_copybook, spec.record)
        framing = Framing(
            record_format=spec.record_format,
            record_length=layout.record_length if spec.record_format in ("F", "FB") else None,
            rdw_order=spec.rdw_order,
            rdw_includes_header=spec.rdw_includes_header,
        )
        writer = FixedWriter(layout, framing, get_codepage(spec.encoding), columns)
        return ResultEncoder(writer, columns, "")
    raise ValueError(f"output format {spec.format!r} is for messages, not files")


def _output_dialect(spec: CsvOutput) -> CsvDialect:
    return CsvDialect(
        delimiter=spec.delimiter,
        quotechar=spec.quotechar,
        quoting=spec.quoting,
        header=spec.header,
        encoding=spec.encoding,
        newline="\r\n" if spec.newline == "crlf" else "\n",
    )


class RejectsEncoder:
    """Encodes rejections as ``record_no, field, reason`` plus the record's carried fields (empty for a
    record that did not decode)."""

    def __init__(self, writer: _Writer, carry: Sequence[str], extension: str) -> None:
        self._writer = writer
        self.carry = tuple(carry)
        self.extension = extension

    def header(self) -> bytes:
        return self._writer.header()

    def encode(self, rejections: Sequence[Rejection], batch: RecordBatch | None = None) -> bytes:
        if not rejections:
            return b""
        numbers = np.fromiter((r.record_number for r in rejections), dtype=np.int64, count=len(rejections))
        values: dict[str, Any] = {
            "record_no": numbers,
            "field": [r.field for r in rejections],
            "reason": [r.reason for r in rejections],
        }
        for name in self.carry:
            values[name] = _carried(batch, name, numbers)
        return self._writer.encode(values)


def rejects_encoder(spec: OutputSpec) -> RejectsEncoder:
    """Rejects are JSON Lines next to JSON Lines results, and CSV (UTF-8, the output's dialect) otherwise."""
    carry = tuple(spec.carry)
    columns = (*REJECT_COLUMNS, *carry)
    if isinstance(spec, JsonlOutput):
        return RejectsEncoder(JsonlWriter(columns), carry, "jsonl")
    dialect = _output_dialect(spec) if isinstance(spec, CsvOutput) else CsvDialect()
    if not dialect.header:  # a rejects file always says what its columns are
        dialect = dataclasses.replace(dialect, header=True)
    return RejectsEncoder(CsvWriter(dialect, columns), carry, "csv")


def _carried(batch: RecordBatch | None, name: str, numbers: np.ndarray) -> list[Any]:
    """The carried field of each rejected record, looked up by record number; None where unknown."""
    if batch is None or not batch.n_rows:
        return [None] * len(numbers)
    column = find_field(batch.columns, name)
    if column is None:
        return [None] * len(numbers)
    values = batch.columns[column]
    positions = np.searchsorted(batch.record_numbers, numbers)
    out: list[Any] = []
    for number, position in zip(numbers.tolist(), positions.tolist(), strict=True):
        inside = position < batch.n_rows and batch.record_numbers[position] == number
        out.append(values[position] if inside else None)
    return out


@dataclass(frozen=True, slots=True)
class OutputNames:
    """File names derived from an input name, so that a replay of the same input replaces its outputs."""

    result: str
    rejects: str
    manifest: str

    @property
    def done(self) -> str:
        return self.result + ".done"


def output_names(input_name: str, result_extension: str, rejects_extension: str) -> OutputNames:
    """``claims.csv`` -> ``claims.result.csv``, ``claims.rejects.csv``, ``claims.manifest.json``.

    ``result_extension`` "" keeps the input's own extension (fixed-width datasets).

    >>> output_names("claims.csv", "jsonl", "jsonl").result
    'claims.result.jsonl'
    >>> output_names("CLAIMS.DAT", "", "csv")
    OutputNames(result='CLAIMS.result.DAT', rejects='CLAIMS.rejects.csv', manifest='CLAIMS.manifest.json')
    """
    path = PurePath(input_name)
    stem, suffix = (path.stem, path.suffix) if path.suffix and path.stem else (input_name, "")
    extension = f".{result_extension}" if result_extension else (suffix or ".dat")
    return OutputNames(
        result=f"{stem}.result{extension}",
        rejects=f"{stem}.rejects.{rejects_extension}",
        manifest=f"{stem}.manifest.json",
    )
