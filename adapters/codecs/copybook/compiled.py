"""The block path: a ``Layout`` compiled once into a codec for N records at a time.

``compile_layout(layout, decode=DecodeOptions(...), encode=EncodeOptions(...))`` returns a
:class:`BlockCodec`. Its ``decode(data)`` takes N fixed-length records as one contiguous buffer and returns
:class:`~block.Columns` — one numpy column per elementary field, every record and occurrence decoded by a
handful of numpy operations per field (``vector_decode``, ``vector_text``) instead of a Python loop per
record. Its ``encode(columns)`` is the inverse and reports values that do not fit as per-record errors,
never truncating.

The block path and the reference path (``reference.RecordDecoder`` / ``encoder.RecordEncoder``) give the
same values and the same errors; tests prove it on random and golden records. What the block path does not
vectorise, it hands to the reference, with identical results:

* numeric-edited fields and binary items of unusual size: one reference call per occurrence;
* text values a code page cannot handle byte by byte (UTF-8 beyond ASCII, invalid bytes);
* *flagged* records (see ``block``): a field error, a DEPENDING ON counter out of range, an unknown segment
  value, or — where ``Layout.shifting`` and ``odo="shift"`` — a DEPENDING ON table below its maximum, which
  moves the items after it. Those records are decoded by the reference one by one and their values written
  into the columns. A layout whose tables shift on most records therefore decodes at reference speed.

Records are processed in chunks (``chunk_records``, default 16384): every field's kernels pass over one
chunk while it is in the CPU caches.

Example::

    >>> from decimal import Decimal
    >>> from adapters.codecs.copybook.parser import parse_copybook
    >>> codec = compile_layout(parse_copybook("01 R. 05 ID PIC X(4). 05 AMT PIC S9(3)V99 COMP-3."))
    >>> block = codec.encode_records([{"ID": "A1", "AMT": Decimal("30.50")}, {"ID": "B2", "AMT": -1}])
    >>> block.data.hex(" ")
    'c1 f1 40 40 03 05 0c c2 f2 40 40 00 10 0d'
    >>> columns = codec.decode(block.data)
    >>> columns["AMT"].values.tolist(), columns["AMT"].scale, columns["ID"].values.tolist()
    ([3050, -100], 2, ['A1', 'B2'])
    >>> columns.records()
    [{'ID': 'A1', 'AMT': Decimal('30.50')}, {'ID': 'B2', 'AMT': Decimal('-1.00')}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapters.codecs.copybook.block import Columns, finish_columns
from adapters.codecs.copybook.block_encode import EncodedBlock, encode_block
from adapters.codecs.copybook.blocks import PAD, byte_view
from adapters.codecs.copybook.encode_layout import EncodeLayout, encode_layout, tail_table
from adapters.codecs.copybook.flatten import flatten_records
from adapters.codecs.copybook.layout import Dim, Field, Layout
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions
from adapters.codecs.copybook.plans import DecodePlan, Overrides, decode_plan, needs_padding
from adapters.codecs.copybook.shapes import FieldRole, Path, field_roles
from adapters.codecs.copybook.tree import check_keys, mapped_chains, own_dim
from adapters.codecs.errors import RecordLengthError

__all__ = ["BlockCodec", "compile_layout"]

CHUNK_RECORDS = 16384  # 16384 x a few hundred bytes: a chunk that stays in the CPU caches
Buffer = bytes | bytearray | memoryview | np.ndarray


def compile_layout(
    layout: Layout, *, decode: DecodeOptions | None = None, encode: EncodeOptions | None = None
) -> BlockCodec:
    """Compile ``layout`` for block decoding and encoding (defaults: cp037, as the reference's).

    Raises ``KeyError`` when segment options name a field or branch the layout lacks, and
    ``CopybookSyntaxError`` when flattening FILLER groups would produce duplicate keys (as the reference).
    """
    decode = decode or DecodeOptions()
    encode = encode or EncodeOptions(codepage=decode.codepage)
    check_keys(layout.root)
    segment_field: Field | None = None
    branches: dict[str, Path] = {}
    mapped: set[int] = set()
    if decode.segments is not None:
        segment_field, branches = decode.segments.resolve(layout)
        mapped = mapped_chains(layout.root, set(branches.values()))
    pad = PAD if needs_padding(layout.fields, layout.record_length, decode.codepage.ebcdic) else 0
    plans = tuple(decode_plan(f, decode.codepage, decode.trim, pad) for f in layout.fields)
    tables = {dim.owner: dim for node in layout.nodes() if (dim := own_dim(node)) and dim.variable}
    return BlockCodec(
        layout=layout,
        decode_options=decode,
        encode_options=encode,
        plans=plans,
        pad=pad,
        roles=field_roles(layout, mapped),
        mapped=mapped,
        odo_tables=tables,
        segment_field=segment_field,
        branches=branches,
        encoding=encode_layout(layout, encode),
        tail_table=tail_table(layout),
    )


@dataclass(slots=True)
class BlockCodec:
    """Decode and encode blocks of records of one layout. Build it with :func:`compile_layout`."""

    layout: Layout
    decode_options: DecodeOptions
    encode_options: EncodeOptions
    plans: tuple[DecodePlan, ...]  # one per elementary field, FILLER included (its bytes are judged too)
    pad: int  # zero bytes the decode kernels expect before each record (0 unless records are tiny)
    roles: dict[Path, FieldRole]
    mapped: set[int]  # ids of the members of segment-mapped REDEFINES chains
    odo_tables: dict[Path, Dim]
    segment_field: Field | None
    branches: dict[str, Path]
    encoding: EncodeLayout
    tail_table: tuple[Path, Dim] | None  # a DEPENDING ON table ending the record (see encode_layout)
    chunk_records: int = field(default=CHUNK_RECORDS)

    @property
    def record_length(self) -> int:
        return self.layout.record_length

    @property
    def table_sizes(self) -> dict[Path, int]:
        return {owner: dim.count for owner, dim in self.odo_tables.items()}

    def decode(self, data: Buffer, n: int | None = None, *, first_record: int = 1) -> Columns:
        """Decode ``n`` records held back to back in ``data`` (every record ``record_length`` bytes).

        ``first_record`` is the 1-based number of the first record, used in error messages. Raises
        ``RecordLengthError`` when ``data`` is not ``n`` whole records. Bad field data never raises here;
        ``Columns`` reports it per record the way the reference decoder does.
        """
        rows = self._rows(data, n, first_record)
        return self._decode(rows, first_record, None)

    def decode_records(self, records: Sequence[bytes], *, first_record: int = 1) -> Columns:
        """Decode records of varying length (V/VB framing): each one as ``RecordDecoder.decode`` would.

        Records are padded or cut to ``record_length`` into one block; one whose length differs from the
        bytes its layout spans (a shorter DEPENDING ON table ending the record is expected) is handed to
        the reference with its own bytes.
        """
        length = self.record_length
        if all(len(r) == length for r in records):
            joined = b"".join(records)
        else:
            joined = b"".join(bytes(r[:length]).ljust(length, b"\x00") for r in records)
        rows = np.frombuffer(joined, np.uint8).reshape(len(records), length)
        return self._decode(rows, first_record, records)

    def _decode(self, rows: np.ndarray, first_record: int, records: Sequence[bytes] | None) -> Columns:
        # Text columns keep raw bytes; over an immutable input (``bytes``) they are views of it, not copies.
        shared = not rows.flags.writeable
        views = [shared and p.item_shape != () and p.dtype == np.uint8 for p in self.plans]
        values = [
            byte_view(rows, p.slot) if view else np.empty((len(rows), *p.slot.counts, *p.item_shape), p.dtype)
            for p, view in zip(self.plans, views, strict=True)
        ]
        bad = [np.empty((len(rows), *p.slot.counts), dtype=bool) for p in self.plans]
        overrides: list[Overrides] = [{} for _ in self.plans]
        if self.pad:
            work = np.zeros((min(self.chunk_records, len(rows)), self.pad + self.record_length), np.uint8)
        for start in range(0, len(rows), self.chunk_records):
            chunk = rows[start : start + self.chunk_records]
            if self.pad:
                work[: len(chunk), self.pad :] = chunk
                chunk = work[: len(chunk)]
            stop = start + len(chunk)
            for k, plan in enumerate(self.plans):
                chunk_values, chunk_bad, chunk_overrides = plan.run(chunk)
                if not views[k]:
                    if chunk_values.dtype == object and values[k].dtype != object:
                        values[k] = values[k].astype(object)
                    values[k][start:stop] = chunk_values
                bad[k][start:stop] = chunk_bad
                if chunk_overrides:
                    overrides[k].update(((start + at[0], *at[1:]), v) for at, v in chunk_overrides.items())
        return finish_columns(self, rows, values, bad, overrides, first_record, records)

    def _rows(self, data: Buffer, n: int | None, first_record: int) -> np.ndarray:
        if isinstance(data, np.ndarray):
            buf = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        else:
            buf = np.frombuffer(data, np.uint8)
        length = self.record_length
        count = len(buf) // length if n is None else n
        if len(buf) != count * length:
            whole = min(len(buf) // length, count)
            raise RecordLengthError(
                "input is not a whole number of fixed-length records",
                record=first_record + whole,
                expected=f"{count} records of {length} bytes ({count * length} bytes)",
                found=f"{len(buf)} bytes",
                file_offset=whole * length,
            )
        return buf.reshape(count, length)

    def encode(self, columns: Mapping[str, Any], *, first_record: int = 1) -> EncodedBlock:
        """Encode N records given as columns: a decoded ``Columns``, or a mapping from field names
        (qualified, or unique in the record) to arrays shaped ``(N, *occurs counts)`` holding unscaled
        integers at the field's scale, floats or ``str`` (``None`` in an ``object`` array: no value).

        Every named field needs a column, except REDEFINES members (a chain needs one member with data).
        Raises ``KeyError`` naming a missing column; bad values are per-record errors in the result.
        """
        return encode_block(self, self.encoding.inputs(columns), first_record)

    def encode_records(self, records: Sequence[Mapping[str, Any]], *, first_record: int = 1) -> EncodedBlock:
        """Encode records in the reference's dict shape (decoded JSON Lines); see ``flatten``."""
        return encode_block(self, flatten_records(self, records), first_record)
