"""Records in the reference's dict shape (e.g. parsed JSON Lines) -> columns for the block encoder.

The walk mirrors ``encoder.RecordEncoder``: a group needs a mapping without unknown keys, a named item
must be present (a REDEFINES member may be absent), a table needs a list of its size or, for DEPENDING ON,
of the length its counter holds. A record that breaks one of these rules is *flagged*: the block encoder
hands it, as given, to the reference encoder, which raises the exact error.

Values become the columns' representation: unscaled integers, floats, ``str``. The conversion is
conservative — plain ``int``, ``Decimal`` and ``float`` (through its shortest decimal form, as the
reference does), no rounding — and anything else is marked a *problem* for that occurrence, which flags the
record if the occurrence is written; the reference then decides (it may round, or raise). So a converted
value is always exactly the reference's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters.codecs.copybook.block_encode import EncodeInput
from adapters.codecs.copybook.layout import Field, Group, Kind, Node
from adapters.codecs.copybook.shapes import Path
from adapters.codecs.copybook.tree import own_dim, visible_children

if TYPE_CHECKING:
    from adapters.codecs.copybook.compiled import BlockCodec

__all__ = ["flatten_records", "to_unscaled"]

_PROBLEM = object()  # a value the conversion does not take


def to_unscaled(value: Any, scale: int) -> int | None:
    """``value * 10 ** scale`` as an int when exact and the value is a plain number, else ``None``."""
    kind = type(value)
    if kind is int:
        if scale >= 0:
            return int(value * 10**scale)
        unscaled, rest = divmod(value, 10**-scale)
        return None if rest else int(unscaled)
    if kind is float:
        value = Decimal(repr(value))
    elif kind is not Decimal:
        return None
    if not value.is_finite():
        return None
    sign, digits, exponent = value.as_tuple()
    magnitude = int("".join(map(str, digits)) or "0")
    shift = int(exponent) + scale
    if shift >= 0:
        magnitude *= 10**shift
    else:
        magnitude, rest = divmod(magnitude, 10**-shift)
        if rest:
            return None
    return int(-magnitude if sign else magnitude)


def _convert(field: Field, value: Any) -> Any:
    """The column representation of one given value (``None`` stays ``None``; else ``_PROBLEM``)."""
    if value is None:
        return None
    kind = field.kind
    if kind in (Kind.ALNUM, Kind.NATIONAL):
        # numpy str arrays cannot hold a trailing NUL: such text goes to the reference
        return value if type(value) is str and not value.endswith("\x00") else _PROBLEM
    if kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
        return float(value) if type(value) in (int, float, Decimal) else _PROBLEM
    unscaled = to_unscaled(value, field.scale)
    return _PROBLEM if unscaled is None else unscaled


class _Collector:
    """Per-field object arrays filled by the walk, and the records' structural flags."""

    def __init__(self, codec: BlockCodec, n: int) -> None:
        self.codec = codec
        self.n = n
        self.cells = {
            f.path: np.full((n, *(d.count for d in f.dims)), None, dtype=object)
            for f in codec.layout.fields
            if not f.filler
        }
        self.flagged = np.zeros(n, dtype=bool)
        self.lengths: dict[Path, np.ndarray] = {
            owner: np.zeros(n, dtype=np.int64) for owner in codec.odo_tables
        }

    def nested(self, owner: Path) -> bool:
        """Whether the table ``owner`` lies inside another table."""
        node = next(n for n in self.codec.layout.nodes() if n.path == owner)
        return len(node.dims) > 1

    def group(self, group: Group, obj: Any, i: int, idx: tuple[int, ...], owner: bool) -> None:
        if not isinstance(obj, Mapping):
            self.flagged[i] = True
            return
        if owner:
            known = {node.name for node, _ in visible_children(group)}
            if any(key not in known for key in obj):
                self.flagged[i] = True
        for child in group.children:
            if child.filler:
                if isinstance(child, Group):
                    self.group(child, obj, i, idx, owner=False)
                continue
            if child.name not in obj:
                if not child.redefines and not self.codec.encoding.is_member(child):
                    self.flagged[i] = True
                continue
            self.node(child, obj[child.name], i, idx)

    def node(self, node: Node, value: Any, i: int, idx: tuple[int, ...]) -> None:
        dim = own_dim(node)
        if dim is None:
            self.single(node, value, i, idx)
            return
        if not isinstance(value, list | tuple) or len(value) > dim.count:
            self.flagged[i] = True
            return
        if dim.depending_on is not None and not idx:
            self.lengths[node.path][i] = len(value)
        elif len(value) != dim.count:
            self.flagged[i] = True
        for k, element in enumerate(value):
            self.single(node, element, i, (*idx, k))

    def single(self, node: Node, value: Any, i: int, idx: tuple[int, ...]) -> None:
        if isinstance(node, Group):
            self.group(node, value, i, idx, owner=True)
        else:
            self.cells[node.path][(i, *idx)] = _convert(node, value)


def flatten_records(codec: BlockCodec, records: Sequence[Mapping[str, Any]]) -> EncodeInput:
    """Columns (and flags) for ``records``; see the module docstring."""
    collector = _Collector(codec, len(records))
    root = codec.layout.root
    for i, record in enumerate(records):
        collector.group(root, record, i, (), owner=True)
    values: dict[Path, np.ndarray] = {}
    valid: dict[Path, np.ndarray] = {}
    problems: dict[Path, np.ndarray] = {}
    for field in codec.layout.fields:
        if field.filler:
            continue
        cells = collector.cells[field.path]
        problems[field.path] = np.asarray(_is_problem(cells), dtype=bool)
        valid[field.path] = _not_none(cells)
        values[field.path] = _typed(field, cells, valid[field.path] & ~problems[field.path])
    flagged = collector.flagged
    for owner, dim in codec.odo_tables.items():
        assert dim.depending_on is not None
        counter = values[dim.depending_on]
        if counter.ndim > 1 or len(dim.owner) != len(owner) or collector.nested(owner):
            flagged[:] = True  # a counter or table inside another table: the reference judges every record
            continue
        flagged |= ~valid[dim.depending_on] | (collector.lengths[owner] != counter)
    return EncodeInput(len(records), values, valid, flagged, records.__getitem__, problems)


_is_problem = np.frompyfunc(lambda v: v is _PROBLEM, 1, 1)
_is_given = np.frompyfunc(lambda v: v is not None, 1, 1)


def _not_none(cells: np.ndarray) -> np.ndarray:
    return np.asarray(_is_given(cells), dtype=bool)


def _typed(field: Field, cells: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The object cells as a typed array (neutral values where not usable)."""
    filled = np.where(usable, cells, _neutral(field))
    if field.kind in (Kind.ALNUM, Kind.NATIONAL):
        return filled.astype(str) if filled.size else np.zeros(filled.shape, dtype="U1")
    if field.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
        return filled.astype(np.float64)
    try:
        return filled.astype(np.int64)
    except OverflowError:
        return filled


def _neutral(field: Field) -> Any:
    if field.kind in (Kind.ALNUM, Kind.NATIONAL):
        return ""
    return 0.0 if field.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE) else 0
