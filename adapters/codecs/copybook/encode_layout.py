"""What the block encoder needs to know about a layout, computed once: kernels, REDEFINES chains,
segment selection, and how a trailing DEPENDING ON table shortens records.

:meth:`EncodeLayout.inputs` also turns the caller's columns (a decoded ``Columns`` or a mapping of arrays)
into the block encoder's ``EncodeInput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters.codecs.copybook.block import Columns
from adapters.codecs.copybook.block_encode import EncodeInput
from adapters.codecs.copybook.columns import Column
from adapters.codecs.copybook.layout import Dim, Field, Group, Kind, Layout, Node
from adapters.codecs.copybook.options import EncodeOptions, redefine_chains
from adapters.codecs.copybook.plan_encode import EncodeKernel, encode_plan
from adapters.codecs.copybook.shapes import Path
from adapters.codecs.copybook.tree import mapped_chains, own_dim

__all__ = ["EncodeLayout", "encode_layout", "tail_table"]


@dataclass(frozen=True, slots=True)
class EncodeLayout:
    """Encode-side facts of a layout (see the module docstring). Members are keyed by ``id``: FILLER
    siblings share a path."""

    layout: Layout
    options: EncodeOptions
    encoders: tuple[tuple[Field, EncodeKernel], ...]
    chains: tuple[tuple[Node, ...], ...]
    members: frozenset[int]
    member_fields: dict[int, tuple[Field, ...]]  # member id -> the named fields below it
    field_members: dict[Path, tuple[int, ...]]  # field -> ids of the chain members enclosing it
    segment: Field | None
    branches: dict[str, Path]
    mapped: frozenset[int]
    tail_table: tuple[Path, Dim] | None  # a DEPENDING ON table ending the record, nothing after it

    def is_member(self, node: Node) -> bool:
        return id(node) in self.members

    def inputs(self, columns: Mapping[str, Any]) -> EncodeInput:
        """The caller's columns as ``EncodeInput`` (see ``compiled.BlockCodec.encode``)."""
        given = {self._field(name).path: column for name, column in columns.items()}
        n = _length(given)
        values: dict[Path, np.ndarray] = {}
        valid: dict[Path, np.ndarray] = {}
        for field, _ in self.encoders:
            column = given.get(field.path)
            if column is None:
                if not self.field_members[field.path]:
                    raise KeyError(f"no column for field {field.qualified_name}")
                column = np.full((n, *(d.count for d in field.dims)), None, dtype=object)
            values[field.path], valid[field.path] = _normalise(field, column)
        if isinstance(columns, Columns):
            # Records the decoder settled with the reference (nulls, short tables ...) are encoded from
            # their reference values by the reference encoder, the way the reference round trip goes.
            resolved = columns.resolved_mask()
            return EncodeInput(n, values, valid, resolved, lambda i: columns.record(i).values)
        return EncodeInput(n, values, valid, np.zeros(n, dtype=bool))

    def _field(self, name: str) -> Field:
        return self.layout.field(name)


def encode_layout(layout: Layout, options: EncodeOptions) -> EncodeLayout:
    """Compute the :class:`EncodeLayout` of ``layout`` for ``options``."""
    chains = tuple(tuple(chain) for chain in redefine_chains(layout.root))
    members = frozenset(id(node) for chain in chains for node in chain)
    segment: Field | None = None
    branches: dict[str, Path] = {}
    mapped: set[int] = set()
    if options.segments is not None:
        segment, branches = options.segments.resolve(layout)
        mapped = mapped_chains(layout.root, set(branches.values()))
    member_fields: dict[int, tuple[Field, ...]] = {}
    field_members: dict[Path, tuple[int, ...]] = {}
    _walk(layout.root, (), members, member_fields, field_members)
    encoders = tuple((f, encode_plan(f, options)) for f in layout.fields if not f.filler)
    return EncodeLayout(
        layout,
        options,
        encoders,
        chains,
        members,
        member_fields,
        field_members,
        segment,
        branches,
        frozenset(mapped),
        tail_table(layout) if options.odo == "shift" else None,
    )


def _walk(
    group: Group,
    enclosing: tuple[int, ...],
    members: frozenset[int],
    member_fields: dict[int, tuple[Field, ...]],
    field_members: dict[Path, tuple[int, ...]],
) -> None:
    for child in group.children:
        here = (*enclosing, id(child)) if id(child) in members else enclosing
        if isinstance(child, Group):
            _walk(child, here, members, member_fields, field_members)
        elif not child.filler:
            field_members[child.path] = here
            for member in here:
                member_fields[member] = (*member_fields.get(member, ()), child)
    for child in group.children:
        member_fields.setdefault(id(child), ())


def tail_table(layout: Layout) -> tuple[Path, Dim] | None:
    """The DEPENDING ON table that ends the record with nothing after it, if that is the only one: a
    shorter table then only shortens the record (``length - missing * stride``), moving nothing."""
    tables = [(node.path, dim) for node in layout.nodes() if (dim := own_dim(node)) and dim.variable]
    if len(tables) != 1 or layout.shifting:
        return None
    path, dim = tables[0]
    owner = next(node for node in layout.nodes() if node.path == path)
    if len(owner.dims) != 1 or owner.offset + dim.count * dim.stride != layout.record_length:
        return None
    return path, dim


def _length(given: Mapping[Path, Any]) -> int:
    lengths = {len(column.bad if isinstance(column, Column) else column) for column in given.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different numbers of records: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _normalise(field: Field, column: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values with neutral placeholders where no value is given, and the mask of given values."""
    if isinstance(column, Column):
        values, valid = column.values, column.valid
    else:
        values = np.asarray(column)
        if values.dtype == object:
            valid = np.asarray(np.frompyfunc(lambda v: v is not None, 1, 1)(values), dtype=bool)
        else:
            valid = np.ones(values.shape, dtype=bool)
    shape = (len(values), *(d.count for d in field.dims))
    if values.shape != shape:
        raise ValueError(f"column {field.qualified_name} has shape {values.shape}, expected {shape}")
    if not valid.all():
        neutral: Any = "" if field.kind in (Kind.ALNUM, Kind.NATIONAL) else 0
        values = np.where(valid, values, neutral)
    if values.dtype == object and field.kind in (Kind.ALNUM, Kind.NATIONAL):
        texts = values.reshape(-1).tolist()
        if all(type(t) is str and not t.endswith("\x00") for t in texts):
            values = values.astype(str)
    elif values.dtype == object:
        values = _plain(values)
    return values, valid


def _plain(values: np.ndarray) -> np.ndarray:
    """An ``object`` array of numbers as int64 / float64 when that is exact, else unchanged."""
    for dtype in (np.int64, np.float64):
        try:
            converted = values.astype(dtype)
        except (OverflowError, TypeError, ValueError):
            continue
        if dtype is np.int64 and all(type(v) is int for v in values.reshape(-1).tolist()):
            return converted
        if dtype is np.float64 and all(type(v) is float for v in values.reshape(-1).tolist()):
            return converted
    return values
