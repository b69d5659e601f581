"""The decoded block: every field's :class:`~columns.Column` for N records, plus per-record outcomes.

After the kernels have run, :func:`finish_columns` applies what the reference decoder does per record:
DEPENDING ON counts (occurrences beyond the count do not exist and their bytes are not judged), segment
selection of REDEFINES members, and leniency inside unmapped REDEFINES members (bad bytes there are a
null, not an error). A record is *flagged* when the block path cannot settle it alone: a field error, a
counter out of range, an unknown segment value, or a DEPENDING ON table below its maximum in a layout where
that moves later items. Flagged records — rare in real data — are decoded by the reference
``RecordDecoder`` (with ``on_error="null"``, so every error is collected) and its values are written back
into the columns, so columns, records and errors are the reference's by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters.codecs.copybook.columns import Column
from adapters.codecs.copybook.layout import Field, Kind
from adapters.codecs.copybook.plans import Overrides, unscale
from adapters.codecs.copybook.reference import Decoded, RecordDecoder
from adapters.codecs.copybook.shapes import Path, record_builder, scatter
from adapters.codecs.errors import RecordDecodeError

if TYPE_CHECKING:
    from adapters.codecs.copybook.compiled import BlockCodec

__all__ = ["Columns", "finish_columns"]


class Columns(Mapping[str, Column]):
    """Decoded columns of a block, keyed by qualified field name (``REC.GRP.FIELD``); FILLER is absent.

    ``columns["AMT"]`` also finds a field by a name unique in the record. Per record, ``record(i)`` is
    exactly what the reference ``RecordDecoder`` returns under ``on_error="null"``; ``bad_mask()`` marks
    the records the reference would reject, and ``errors()`` lists each one's first error (the one it
    raises under ``on_error="reject"`` or ``"fail"``), with record number, field, offset and bytes.
    """

    def __init__(
        self,
        codec: BlockCodec,
        columns: dict[str, Column],
        first_record: int,
        counts: dict[Path, np.ndarray],
        selected: list[Path | None] | None,
        resolved: dict[int, Decoded],
    ) -> None:
        self.codec = codec
        self.first_record = first_record
        self.counts = counts  # DEPENDING ON count per table (owner path), per record
        self._columns = columns
        self._selected = selected
        self._resolved = resolved
        self._n = len(next(iter(columns.values())).bad) if columns else 0
        self._spans: np.ndarray | None = None
        self._build: Any = None  # record builder over the columns' Python values, made on first use

    @property
    def n(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> Column:
        column = self._columns.get(name)
        if column is None:
            column = self._columns[self.codec.layout.field(name).qualified_name]
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def bad_mask(self) -> np.ndarray:
        """``(N,)`` booleans: the reference reports at least one error for the record."""
        mask = np.zeros(self.n, dtype=bool)
        for i, decoded in self._resolved.items():
            mask[i] = bool(decoded.errors)
        return mask

    def resolved_mask(self) -> np.ndarray:
        """``(N,)`` booleans: the record was decoded by the reference (see the module docstring)."""
        mask = np.zeros(self.n, dtype=bool)
        mask[list(self._resolved)] = True
        return mask

    def errors(self) -> list[RecordDecodeError]:
        """The first error of every bad record, in record order."""
        return [self._resolved[i].errors[0] for i in sorted(self._resolved) if self._resolved[i].errors]

    def record(self, i: int) -> Decoded:
        """Record ``i`` (0-based in the block) as the reference decodes it under ``on_error="null"``."""
        if i in self._resolved:
            return self._resolved[i]
        if self._spans is None:
            self._spans = _spans(self.codec, self.counts, self.n)
        return Decoded(self._builder()(i), (), int(self._spans[i]))

    def records(self) -> list[dict[str, Any]]:
        """Every record's values (nulls where a field did not decode), in order."""
        build = self._builder()
        return [self._resolved[i].values if i in self._resolved else build(i) for i in range(self.n)]

    def _builder(self) -> Any:
        if self._build is None:
            self._build = self._make_builder()
        return self._build

    def _make_builder(self) -> Any:
        codec = self.codec
        lists = {column.field.path: _python_values(column) for column in self._columns.values()}
        counts = {path: count.tolist() for path, count in self.counts.items()}
        return record_builder(codec.layout, lists, counts, self._selected, codec.mapped)


def _python_values(column: Column) -> list[Any]:
    """The column as nested Python lists of the reference's value types, ``None`` where bad."""
    values = column.decimals()  # None where bad (occurrences that do not exist are never read)
    return list(values.tolist())


def finish_columns(
    codec: BlockCodec,
    rows: np.ndarray,
    values: list[np.ndarray],
    bad: list[np.ndarray],
    overrides: list[Overrides],
    first_record: int,
    records: Sequence[bytes] | None = None,
) -> Columns:
    """Apply counts, segments and leniency; hand flagged records to the reference; build the Columns.

    ``records``: the records as given when their lengths vary (``rows`` then holds them cut or padded
    to the record length); a record whose length is not the one its layout spans is flagged.
    """
    fields = [plan.field for plan in codec.plans]
    n = len(rows)
    present: list[np.ndarray | None] = [None] * len(fields)
    flagged = np.zeros(n, dtype=bool)
    counts = _counts(codec, fields, values, bad, flagged)
    selected = _segments(codec, fields, values, bad, overrides, present, flagged)
    for k, field in enumerate(fields):
        present[k] = _table_presence(field, counts, present[k], n)
        if codec.roles[field.path].lenient:
            continue
        strict = bad[k] if present[k] is None else bad[k] & present[k]
        flagged |= strict.reshape(n, -1).any(axis=1)
    if codec.layout.shifting and codec.decode_options.odo == "shift":
        for owner, count in counts.items():
            flagged |= count < codec.table_sizes[owner]
    if records is not None:
        given = np.fromiter(map(len, records), dtype=np.int64, count=n)
        flagged |= given != _spans(codec, counts, n)
    resolved = _resolve(
        codec, records if records is not None else rows, np.flatnonzero(flagged), first_record
    )
    _write_back(codec, fields, resolved, values, bad, present, overrides)
    columns = {
        f.qualified_name: Column(
            f, values[k], bad[k], present[k], materialize=plan.materialize, overrides=overrides[k]
        )
        for k, (f, plan) in enumerate(zip(fields, codec.plans, strict=True))
        if not f.filler
    }
    return Columns(codec, columns, first_record, counts, selected, resolved)


def _counts(
    codec: BlockCodec,
    fields: list[Field],
    values: list[np.ndarray],
    bad: list[np.ndarray],
    flagged: np.ndarray,
) -> dict[Path, np.ndarray]:
    """Per DEPENDING ON table, the count for every record; flags records whose counter is unusable."""
    index = {f.path: k for k, f in enumerate(fields)}
    counts: dict[Path, np.ndarray] = {}
    for owner, dim in codec.odo_tables.items():
        assert dim.depending_on is not None
        k = index.get(dim.depending_on)
        counter = fields[k] if k is not None else None
        if k is None or counter is None or counter.dims or counter.scale > 0 or not counter.numeric:
            flagged[:] = True  # not a plain integer counter: let the reference judge every record
            counts[owner] = np.full(len(flagged), dim.count, dtype=np.int64)
            continue
        raw = values[k]
        usable = ~bad[k] & (raw >= dim.minimum) & (raw <= dim.count)
        flagged |= ~usable
        counts[owner] = np.where(usable, raw, dim.count).astype(np.int64)
    return counts


def _segments(
    codec: BlockCodec,
    fields: list[Field],
    values: list[np.ndarray],
    bad: list[np.ndarray],
    overrides: list[Overrides],
    present: list[np.ndarray | None],
    flagged: np.ndarray,
) -> list[Path | None] | None:
    """The selected member per record (segment map), and presence of the fields under mapped members."""
    if codec.segment_field is None:
        return None
    k = next(i for i, f in enumerate(fields) if f.path == codec.segment_field.path)
    plan = codec.plans[k]
    segment = Column(fields[k], values[k], bad[k], materialize=plan.materialize, overrides=dict(overrides[k]))
    keys = [str(v).rstrip(" \x00") for v in _python_values(segment)]
    selected = [codec.branches.get(key) for key in keys]
    flagged |= np.array([s is None for s in selected], dtype=bool) | bad[k]
    for j, field in enumerate(fields):
        branches = codec.roles[field.path].branches
        if branches:
            mask = np.array([all(s == b for b in branches) for s in selected], dtype=bool)
            present[j] = np.broadcast_to(mask.reshape(-1, *([1] * len(field.dims))), bad[j].shape).copy()
    return selected


def _table_presence(
    field: Field, counts: dict[Path, np.ndarray], present: np.ndarray | None, n: int
) -> np.ndarray | None:
    """``present`` narrowed to the occurrences each record's DEPENDING ON counts allow."""
    for axis, dim in enumerate(field.dims):
        if dim.owner not in counts:
            continue
        shape = [1] * (len(field.dims) + 1)
        shape[0], shape[axis + 1] = n, dim.count
        allowed = (np.arange(dim.count)[None, :] < counts[dim.owner][:, None]).reshape(shape)
        full = np.broadcast_to(allowed, (n, *(d.count for d in field.dims)))
        present = full.copy() if present is None else present & full
    return present


def _spans(codec: BlockCodec, counts: dict[Path, np.ndarray], n: int) -> np.ndarray:
    """Bytes each record's layout spans: the record length, less the unused occurrences of a DEPENDING ON
    table that ends the record when tables shift (``odo="shift"``), as the reference computes it."""
    spans = np.full(n, codec.record_length, dtype=np.int64)
    tail = codec.tail_table
    if tail is not None and codec.decode_options.odo == "shift":
        owner, dim = tail
        spans -= (dim.count - counts[owner]) * dim.stride
    return spans


def _resolve(
    codec: BlockCodec, rows: np.ndarray | Sequence[bytes], which: np.ndarray, first_record: int
) -> dict[int, Decoded]:
    if not len(which):
        return {}
    options = dataclasses.replace(codec.decode_options, on_error="null")
    decoder = RecordDecoder(codec.layout, options)
    return {int(i): decoder.decode(bytes(rows[i]), first_record + int(i)) for i in which}


def _write_back(
    codec: BlockCodec,
    fields: list[Field],
    resolved: dict[int, Decoded],
    values: list[np.ndarray],
    bad: list[np.ndarray],
    present: list[np.ndarray | None],
    overrides: list[Overrides],
) -> None:
    """Put the reference's values of resolved records into the columns (absent occurrences: not present)."""
    index = {f.path: k for k, f in enumerate(fields)}
    for i, decoded in resolved.items():
        for k in range(len(fields)):
            if present[k] is None:
                present[k] = np.ones(bad[k].shape, dtype=bool)
            present[k][i] = False  # type: ignore[index]
            bad[k][i] = False
        for field, idx, value in scatter(codec.layout, decoded.values):
            k = index[field.path]
            at = (i, *idx)
            present[k][at] = True  # type: ignore[index]
            if value is None:
                bad[k][at] = True
            elif field.kind in (Kind.ALNUM, Kind.NATIONAL):
                overrides[k][at] = value  # applied when the column's str values are built
            elif field.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
                values[k][at] = value
            else:
                values[k][at] = unscale(value, field.scale)
