"""The reference record encoder: a nested dict of the decoder's shape -> one record's bytes.

The inverse of ``reference.RecordDecoder``: ``encode(decode(b)) == b`` for a record whose text fields carry
no trailing padding other than spaces. Strict in what it accepts, because the bytes go to a COBOL program:

* every named item must be present (FILLER bytes are written as spaces); unknown keys are errors;
* an OCCURS list must have exactly the table's size, or for DEPENDING ON as many elements as the counter
  field holds (and no more than the maximum);
* of a REDEFINES chain, the member the segment map selects is written, else the first member that carries
  data, i.e. has some non-null field (the others are ignored);
* a value that does not fit its PICTURE is an ``EncodeOverflow``, never truncated.

With ``odo="shift"`` a record whose DEPENDING ON tables are not full is shorter than
``Layout.record_length``, as COBOL writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.codecs.copybook.fields import encode_field
from adapters.codecs.copybook.layout import Field, Group, Layout, Node
from adapters.codecs.copybook.options import EncodeOptions, chain_members
from adapters.codecs.copybook.tree import (
    check_keys,
    closing_shift,
    mapped_chains,
    own_dim,
    static_extent,
    visible_children,
)
from adapters.codecs.errors import RecordEncodeError, UnrepresentableValue

__all__ = ["RecordEncoder"]


@dataclass(slots=True)
class _Out:
    buffer: bytearray
    selected: tuple[str, ...] | None = None
    counters: dict[tuple[str, ...], int] = field(default_factory=dict)


class RecordEncoder:
    """Encodes records of one layout; build once, call :meth:`encode` per record."""

    def __init__(self, layout: Layout, options: EncodeOptions | None = None) -> None:
        self.layout = layout
        self.options = options or EncodeOptions()
        check_keys(layout.root)
        self._shift = self.options.odo == "shift"
        self._counters = {d.depending_on for f in layout.fields for d in f.dims if d.depending_on}
        self._space = self.options.codepage.encode(" ")
        self._members = {id(node) for node in chain_members(layout.root)}  # ids: FILLER siblings share paths
        self._segment_field: Field | None = None
        self._branches: dict[str, tuple[str, ...]] = {}
        self._mapped: set[int] = set()
        if self.options.segments is not None:
            self._segment_field, self._branches = self.options.segments.resolve(layout)
            self._mapped = mapped_chains(layout.root, set(self._branches.values()))

    def encode(self, values: Mapping[str, Any], number: int | None = None) -> bytes:
        """The record for ``values``. Raises ``RecordEncodeError`` naming the field and the record number."""
        try:
            out = _Out(bytearray(self._space * self.layout.record_length))
            if self._segment_field is not None:
                out.selected = self._select(values)
            length = self._group(self.layout.root, 0, values, out, self.layout.root.name, owner=True)
            return bytes(out.buffer[:length])
        except RecordEncodeError as exc:
            raise (exc.at_record(number) if number is not None else exc) from None

    def _select(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        segment = self._segment_field
        assert segment is not None
        value: Any = values
        for name in segment.path[1:]:
            value = value.get(name) if isinstance(value, Mapping) else None
        key = str(value).rstrip(" \x00") if value is not None else ""
        if key not in self._branches:
            raise UnrepresentableValue(
                "segment value is not in the segment map",
                field=segment.qualified_name,
                expected=" or ".join(repr(k) for k in self._branches),
                found=repr(key),
            )
        return self._branches[key]

    def _group(self, group: Group, base: int, obj: Any, out: _Out, label: str, *, owner: bool) -> int:
        if not isinstance(obj, Mapping):
            raise UnrepresentableValue("group needs an object", field=label, found=type(obj).__name__)
        if owner:
            _check_unknown(group, obj, label)
        shift = 0
        static_end = actual_end = 0
        written = True  # whether the current REDEFINES chain has a member written
        for child in group.children:
            rel = child.offset - group.offset
            if not child.redefines:
                _chain_written(written, group, static_end, label)
                shift += closing_shift(base, static_end, actual_end, shift)
                static_end, actual_end = 0, 0
                written = id(child) not in self._members or id(child) in self._mapped
            start = base + rel + shift
            extent = static_extent(child)
            if self._wanted(child, obj, written, out):
                extent = self._node(child, start, obj, out, label)
                written = True
            static_end = max(static_end, rel + static_extent(child))
            actual_end = max(actual_end, start + extent)
        _chain_written(written, group, static_end, label)
        shift += closing_shift(base, static_end, actual_end, shift)
        return group.size + shift

    def _wanted(self, child: Node, obj: Mapping[str, Any], written: bool, out: _Out) -> bool:
        """Whether to write ``child``: always, unless it is a REDEFINES member another member wins over."""
        if id(child) in self._mapped:
            return child.path == out.selected
        if id(child) not in self._members:
            return not child.filler or isinstance(child, Group)
        if written:
            return False
        if child.filler and isinstance(child, Group):
            return any(_has_value(node, obj.get(node.name)) for node, _ in visible_children(child))
        return _has_value(child, obj.get(child.name))

    def _node(self, node: Node, start: int, obj: Mapping[str, Any], out: _Out, label: str) -> int:
        name = f"{label}.{node.name}"
        if node.filler:
            assert isinstance(node, Group)
            return self._group(node, start, obj, out, name, owner=False)
        if node.name not in obj:
            raise UnrepresentableValue("field is missing", field=name, expected=f"a value for {node.name}")
        value = obj[node.name]
        dim = own_dim(node)
        if dim is None:
            return self._single(node, start, value, out, name)
        if not isinstance(value, list | tuple):
            raise UnrepresentableValue("table needs a list", field=name, found=type(value).__name__)
        expected = out.counters.get(dim.depending_on) if dim.depending_on else dim.count
        if len(value) != expected or len(value) > dim.count:
            what = f"{'.'.join(dim.depending_on)} = {expected}" if dim.depending_on else f"OCCURS {dim.count}"
            raise UnrepresentableValue(
                "table size does not match",
                field=name,
                expected=f"{what} elements",
                found=f"{len(value)} elements",
            )
        position = start
        padding = dim.stride - node.size
        for i, element in enumerate(value):
            extent = self._single(node, position, element, out, f"{name}[{i + 1}]")
            position += (extent if self._shift else node.size) + padding
        return (position - start) if self._shift else dim.count * dim.stride

    def _single(self, node: Node, start: int, value: Any, out: _Out, label: str) -> int:
        if isinstance(node, Group):
            return self._group(node, start, value, out, label, owner=True)
        if value is None:
            raise UnrepresentableValue("field is null", field=label, expected="a value")
        opts = self.options
        data = encode_field(
            node, value, opts.codepage, zoned_sign=opts.zoned_sign, rounding=opts.rounding, name=label
        )
        out.buffer[start : start + node.size] = data
        if node.path in self._counters:
            out.counters[node.path] = int(value)
        return node.size


def _has_value(node: Node, value: Any) -> bool:
    """Whether a REDEFINES member carries data: some field below it is not null (``{}`` carries none)."""
    if value is None:
        return False
    if isinstance(value, list | tuple):
        return any(_has_value(node, element) for element in value)
    if isinstance(node, Group) and isinstance(value, Mapping):
        return any(_has_value(child, value.get(child.name)) for child, _ in visible_children(node))
    return True


def _check_unknown(group: Group, obj: Mapping[str, Any], label: str) -> None:
    known = {node.name for node, _ in visible_children(group)}
    unknown = [key for key in obj if key not in known]
    if unknown:
        raise UnrepresentableValue(
            "unknown field", field=f"{label}.{unknown[0]}", expected=f"one of {', '.join(sorted(known))}"
        )


def _chain_written(written: bool, group: Group, static_end: int, label: str) -> None:
    if not written:
        raise UnrepresentableValue(
            "no member of a REDEFINES chain has a value", field=label, offset=group.offset + static_end
        )
