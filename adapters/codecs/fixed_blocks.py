"""The fast path of fixed-width reading: records in blocks through the copybook's block codec.

F/FB records are read ``rows`` at a time as one buffer and decoded by ``compile_layout(...).decode`` into one
numpy column per field, instead of one Python call per record; records of other framings arrive framed one
by one and go through ``decode_records``. The block codec's values and errors are the reference decoder's by
construction. Fields the model reads as numbers come out as ``float64`` columns (the only place a decimal
becomes binary floating point); every other field keeps its exact value (``int``/``Decimal``, ``str``). The
last ``reserve`` bytes of the input are held back as the trailer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

import numpy as np

from adapters.codecs.chunks import BadRecord, DecodedChunk
from adapters.codecs.copybook import (
    BlockCodec,
    Codepage,
    DecodeOptions,
    Field,
    Group,
    Layout,
    RawRecord,
    compile_layout,
)
from adapters.codecs.copybook.block import Columns
from adapters.codecs.errors import RecordLengthError

__all__ = ["BlockReader", "flattened_fields"]


def flattened_fields(layout: Layout) -> list[tuple[Field, str]]:
    """Every named elementary field with its flattened name relative to the 01 level (FILLER groups lift
    their items, as the reference decoder does)."""
    out: list[tuple[Field, str]] = []
    _walk(layout.root, "", out)
    return out


def _walk(group: Group, prefix: str, out: list[tuple[Field, str]]) -> None:
    for child in group.children:
        if isinstance(child, Group) and not child.dims:
            _walk(child, prefix if child.filler else f"{prefix}{child.name}.", out)
        elif isinstance(child, Field) and not child.filler:
            out.append((child, f"{prefix}{child.name}"))


class BlockReader:
    """Reads fixed-length records of ``layout`` in blocks. After :meth:`chunks` is exhausted, ``trailer``
    holds the held-back bytes and ``count`` the number of records read (decoded or bad)."""

    def __init__(
        self,
        layout: Layout,
        codepage: Codepage,
        *,
        reserve: int = 0,
        wanted: Callable[[str], bool] | None = None,
        numeric: Callable[[str], bool] = lambda name: False,
    ) -> None:
        self._codec: BlockCodec = compile_layout(layout, decode=DecodeOptions(codepage=codepage))
        self._length = layout.record_length
        self._reserve = reserve
        self._fields = [(f, n) for f, n in flattened_fields(layout) if wanted is None or wanted(n)]
        self._numeric = numeric
        self.names = tuple(n for _, n in flattened_fields(layout))
        self.trailer = b""
        self.count = 0

    def chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        for offset, data in self._blocks(stream, rows):
            first = offset // self._length + 1
            yield self._decode(data, first)
            self.count += len(data) // self._length

    def decode_records(self, records: Sequence[RawRecord]) -> DecodedChunk:
        """One chunk from records another framing (V, VB, text) delivered; their numbers are consecutive."""
        first = records[0].number
        return self._columns(self._codec.decode_records([r.data for r in records], first_record=first), first)

    def _decode(self, data: bytes, first: int) -> DecodedChunk:
        return self._columns(self._codec.decode(data, first_record=first), first)

    def _columns(self, block: Columns, first: int) -> DecodedChunk:
        numbers = np.arange(first, first + block.n, dtype=np.int64)
        bad_mask = block.bad_mask()
        bad = [BadRecord(e.record or 0, e.field or "", str(e)) for e in block.errors()]
        keep = ~bad_mask if bad else None
        columns: dict[str, Any] = {}
        for field, name in self._fields:
            column = block[field.qualified_name]
            if column.decimal and self._numeric(name):
                values: np.ndarray = column.floats()
            elif column.decimal:
                values = column.decimals()
            else:
                values = column.values
            if values.ndim > 1:  # an OCCURS table: one list per record
                rows = values.tolist()
                values = np.empty(len(rows), dtype=object)
                values[:] = rows
            columns[name] = values[keep] if keep is not None else values
        kept = numbers[keep] if keep is not None else numbers
        return DecodedChunk(columns, kept, bad, self.names)

    def _blocks(self, stream: BinaryIO, rows: int) -> Iterator[tuple[int, bytes]]:
        """(input offset, bytes) of consecutive blocks of whole records, the trailer held back."""
        length, reserve = self._length, self._reserve
        want = max(1, rows) * length
        pending = bytearray()
        offset = 0
        eof = False
        while True:
            while not eof and len(pending) < want + reserve:
                data = stream.read(want + reserve - len(pending))
                eof = not data
                pending += data
            available = max(0, len(pending) - reserve)
            take = min(want, available)
            whole = take - take % length
            if eof and take % length and whole + length > available:
                raise RecordLengthError(
                    "input ends inside a fixed-length record",
                    file_offset=offset + whole,
                    data=bytes(pending[whole:available]),
                    expected=f"{length} bytes",
                    found=f"{available - whole} bytes",
                )
            if whole == 0:
                self.trailer = bytes(pending)
                return
            yield offset, bytes(pending[:whole])
            del pending[:whole]
            offset += whole
