"""Fixed-width copybook records as column chunks: a chunked reader and a result-record writer.

Both sit on the copybook codec's public API (``adapters.codecs.copybook``): framing (F, FB, V, VB, text),
the record decoder and encoder, and the stream's trailer check.

Reading: each record decodes to the codec's nested values; groups are flattened to dotted field names
relative to the 01 level (``ACCT.BALANCE``), OCCURS tables stay list values. A record whose bytes do not
decode (bad packed digits, invalid zoned data, unmappable text) is a :class:`BadRecord` naming the field,
the offset and the bytes; the records around it decode normally. A framing error (an input that ends
inside a record, a malformed record descriptor word) or a trailer whose count disagrees raises the codec's
``RecordDecodeError``: nothing in such an input can be trusted.

Writing: a result copybook describes the records a COBOL program reads back. Each of its named elementary
fields takes the result column of the same name (matched like model fields: case-insensitively, ``-`` and
``_`` alike; a short record prefix such as ``RS-`` may lead the name), so ``RS-P-MALIGNANT PIC 9V9(6)``
receives ``p_malignant`` rounded half-even to six decimals and ``RS-MODEL-VERSION PIC X(4)`` the lineage
column ``model_version``. A value that does not fit its field
(overflow, text the code page lacks) makes that row a rejection, never a truncated record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from adapters.codecs.chunks import BadRecord, DecodedChunk
from adapters.codecs.copybook import (
    Codepage,
    DecodeOptions,
    EncodeOptions,
    Field,
    Framing,
    Group,
    Layout,
    RawRecord,
    RecordDecoder,
    RecordEncoder,
    RecordReader,
    RecordWriter,
    Rejected,
    TrailerCheck,
    check_trailer,
    decode_stream,
)
from adapters.codecs.errors import RecordDecodeError, RecordEncodeError
from adapters.codecs.fixed_blocks import BlockReader

__all__ = ["FixedReader", "FixedWriter", "ResultLayoutError", "record_fields"]


class ResultLayoutError(ValueError):
    """A result copybook cannot be filled from the result columns; the message names the field."""


def _key(name: str) -> str:
    return name.strip().casefold().replace("-", "_")


def record_fields(layout: Layout) -> tuple[str, ...]:
    """The flattened field names a record of ``layout`` decodes to (FILLER left out)."""
    names: list[str] = []
    _collect(layout.root, "", names)
    return tuple(names)


def _collect(group: Group, prefix: str, out: list[str]) -> None:
    for child in group.children:
        if isinstance(child, Group) and not child.dims:
            _collect(child, prefix if child.filler else f"{prefix}{child.name}.", out)
        elif not child.filler:
            out.append(f"{prefix}{child.name}")


def _columns_match_records(group: Group) -> bool:
    """True when the block codec's columns give every field the value the reference decoder gives it.

    Not so for an OCCURS group (the reference nests a record per occurrence) or an OCCURS DEPENDING ON
    table (the reference's list ends at the count); such layouts are decoded record by record.
    """
    for child in group.children:
        if any(dim.depending_on is not None for dim in child.dims):
            return False
        if isinstance(child, Group) and (child.dims or not _columns_match_records(child)):
            return False
    return True


class FixedReader:
    """Reads a caller-opened binary stream of records in chunks. ``wanted(name)`` limits the columns;
    ``numeric(name)`` names the fields to return as ``float64`` (model inputs) rather than exact values.

    Records go through the block codec (``fixed_blocks``): F/FB records of the layout's own length read as
    whole blocks, other framings record by record into blocks. Layouts with OCCURS groups or DEPENDING ON
    tables are decoded record by record by the reference decoder. Both give the same values and errors.
    """

    def __init__(
        self,
        layout: Layout,
        framing: Framing,
        codepage: Codepage,
        *,
        trailer: TrailerCheck | None = None,
        wanted: Callable[[str], bool] | None = None,
        numeric: Callable[[str], bool] = lambda name: False,
    ) -> None:
        self.layout = layout
        self._framing = framing
        self._codepage = codepage
        self._decoder = RecordDecoder(layout, DecodeOptions(codepage=codepage, on_error="reject"))
        self._trailer = trailer
        self._wanted = wanted
        self._numeric = numeric
        self.fields = record_fields(layout)
        self._columnar = _columns_match_records(layout.root)
        self._whole_blocks = self._columnar and (
            framing.record_format in ("F", "FB")
            and framing.record_length == layout.record_length
            and not framing.skip_header
        )

    def chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        """Chunks of at most ``rows`` decoded records, in input order; at least one chunk.

        Raises RecordDecodeError (framing, trailer) for an input that cannot be trusted as a whole.
        """
        if rows < 1:
            raise ValueError(f"chunk size must be at least 1 record, got {rows}")
        if self._whole_blocks:
            yield from self._block_chunks(stream, rows)
            return
        if self._columnar:
            yield from self._framed_chunks(stream, rows)
            return
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        bad: list[BadRecord] = []
        for item in decode_stream(stream, self._decoder, self._framing, trailer=self._trailer):
            if isinstance(item, Rejected):
                bad.append(_bad(item))
            else:
                records.append(self._flat(item.values))
                numbers.append(item.number)
            if len(records) == rows:
                yield self._chunk(records, numbers, bad)
                records, numbers, bad = [], [], []
        if records or bad or not numbers:
            yield self._chunk(records, numbers, bad)

    def _block_reader(self, reserve: int = 0) -> BlockReader:
        return BlockReader(
            self.layout, self._codepage, reserve=reserve, wanted=self._wanted, numeric=self._numeric
        )

    def _framed_chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        """Records framed one by one (V, VB, text, headers), decoded ``rows`` at a time by the block codec."""
        framed = RecordReader(stream, self._framing)
        blocks = self._block_reader()
        batch: list[RawRecord] = []
        produced = False
        for record in framed:
            batch.append(record)
            if len(batch) == rows:
                produced = True
                yield blocks.decode_records(batch)
                batch = []
        if self._trailer is not None:
            check_trailer(self._trailer, framed.trailer, framed.count, self._codepage)
        if batch:
            yield blocks.decode_records(batch)
        elif not produced:
            yield self._chunk([], [], [])

    def _block_chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        reader = self._block_reader(reserve=self._framing.skip_trailer)
        produced = False
        for chunk in reader.chunks(stream, rows):
            produced = True
            yield chunk
        if self._trailer is not None:
            check_trailer(self._trailer, reader.trailer, reader.count, self._codepage)
        if not produced:
            yield self._chunk([], [], [])

    def _flat(self, values: Mapping[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        _flatten(values, "", flat)
        if self._wanted is not None:
            flat = {k: v for k, v in flat.items() if self._wanted(k)}
        return flat

    def _chunk(self, records: list[dict[str, Any]], numbers: list[int], bad: list[BadRecord]) -> DecodedChunk:
        names = (
            list(records[0])
            if records
            else [f for f in self.fields if self._wanted is None or self._wanted(f)]
        )
        columns: dict[str, Any] = {}
        for name in names:
            column = np.empty(len(records), dtype=object)
            column[:] = [record.get(name) for record in records]
            columns[name] = column
        return DecodedChunk(columns, np.asarray(numbers, dtype=np.int64), bad, self.fields)


def _flatten(values: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            _flatten(value, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = value


def _bad(rejected: Rejected) -> BadRecord:
    error: RecordDecodeError = rejected.error
    return BadRecord(rejected.number, error.field or "", str(error))


class FixedWriter:
    """Encodes result rows as records of ``layout`` (no OCCURS or REDEFINES in a result record).

    ``columns`` are the result columns that will be passed to :meth:`encode`; every named field of the
    layout must match one of them (raises ResultLayoutError otherwise). Numbers are rounded half-even to the
    field's decimals; text is written as is, padded by the codec.
    """

    def __init__(self, layout: Layout, framing: Framing, codepage: Codepage, columns: Sequence[str]) -> None:
        self.layout = layout
        self._framing = framing
        self._pad = codepage.encode(" ")
        self._encoder = RecordEncoder(layout, EncodeOptions(codepage=codepage, rounding="half-even"))
        available = {_key(c): c for c in columns}
        self._plan = _plan(layout.root, available, ())
        self.failures: list[tuple[int, str, str]] = []

    def header(self) -> bytes:
        return b""

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """Records for one chunk of results. Rows that cannot be encoded are left out and listed in
        ``failures`` as (row index, field, reason) until the next call."""
        self.failures = []
        lists = {column: _as_list(values[column]) for _, column in self._plan}
        n = len(next(iter(lists.values()))) if lists else 0
        sink = _Sink()
        writer = RecordWriter(sink, self._framing, pad=self._pad)  # type: ignore[arg-type]
        for row in range(n):
            record = _nest((path, lists[column][row]) for path, column in self._plan)
            try:
                writer.write(self._encoder.encode(record))
            except (RecordEncodeError, ValueError) as exc:
                field = getattr(exc, "field", None) or ""
                self.failures.append((row, str(field), str(exc)))
        writer.close()
        return bytes(sink.data)


def _plan(
    group: Group, available: dict[str, str], prefix: tuple[str, ...]
) -> list[tuple[tuple[str, ...], str]]:
    """(path below the 01 level, result column) for every named elementary field of a result record."""
    plan: list[tuple[tuple[str, ...], str]] = []
    for child in group.children:
        if child.dims or child.redefines:
            clause = "OCCURS" if child.dims else "REDEFINES"
            raise ResultLayoutError(
                f"result copybook field {child.name}: {clause} is not supported in results"
            )
        path = prefix if child.filler else (*prefix, child.name)
        if isinstance(child, Group):
            plan += _plan(child, available, path)
        elif not child.filler:
            plan.append((path, _column_for(child, available)))
    return plan


def _column_for(field: Field, available: dict[str, str]) -> str:
    """The result column of a result field: the same name, else the name without a record prefix
    (``RS-LABEL`` takes ``label``: COBOL programs prefix the items of a record, not least because words
    such as LABEL are reserved)."""
    column = available.get(_key(field.name))
    prefix, dash, rest = field.name.partition("-")
    if column is None and dash and rest and len(prefix) <= 4 and prefix.isalnum():
        column = available.get(_key(rest))
    if column is None:
        raise ResultLayoutError(
            f"result copybook field {field.name} matches no result column; "
            f"result columns: {', '.join(available.values())}"
        )
    return column


def _nest(items: Iterator[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path, value in items:
        target = record
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _plain(value)
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item() if not isinstance(value, np.floating) else value
    if value is None:
        return ""
    return value


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return list(values)  # numpy scalars: the encoder reads a float32 by its shortest repr
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


class _Sink:
    """A minimal binary sink for RecordWriter."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)
