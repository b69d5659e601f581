"""The reference record decoder: one record's bytes -> a nested dict, field by field.

It is the executable definition of what a record means; the vectorised block decoder must agree with it.

Shape of the result: the 01 level is not a key, its items are; groups are nested dicts; OCCURS are lists
(OCCURS ... DEPENDING ON: as many elements as the counter says); FILLER items are dropped and the named
items of a FILLER group are lifted into the enclosing group; text loses its trailing padding.

Rules worth knowing:

* REDEFINES: without a segment map every member of a chain is decoded. Only one member is meant to hold
  the record's data, so a member whose bytes do not decode as its type is ``None`` without being an error.
  With a :class:`Segments` map only the selected member is decoded (strictly) and the others are left out.
* Short records (variable formats): text fields read missing trailing bytes as padding; a numeric field
  that does not fit in the record is a ``RecordLengthError`` (``None`` inside an unselected REDEFINES
  member).
* Errors follow ``DecodeOptions.on_error`` (see ``options``); every error names the field with 1-based
  subscripts (``CLAIM-REC.LINES[2].CODE``), the byte offset inside the record and the record number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from adapters.codecs.copybook.fields import decode_field
from adapters.codecs.copybook.layout import Dim, Field, Group, Kind, Layout, Node
from adapters.codecs.copybook.options import DecodeOptions
from adapters.codecs.copybook.tree import check_keys, closing_shift, mapped_chains, own_dim, static_extent
from adapters.codecs.errors import (
    DependingOnOutOfRange,
    RecordDecodeError,
    RecordLengthError,
)

__all__ = ["Decoded", "RecordDecoder"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded record: ``values`` as described in the module docstring, the errors of fields set to
    ``None`` under ``on_error="null"``, and ``length``, the bytes the record's layout spans (shorter than
    ``Layout.record_length`` when DEPENDING ON tables are not full and items shift)."""

    values: dict[str, Any]
    errors: tuple[RecordDecodeError, ...] = ()
    length: int = 0


@dataclass(slots=True)
class _Record:
    data: bytes
    number: int | None
    selected: tuple[str, ...] | None = None
    counters: dict[tuple[str, ...], Any] = field(default_factory=dict)
    errors: list[RecordDecodeError] = field(default_factory=list)


class RecordDecoder:
    """Decodes records of one layout. Build once, call :meth:`decode` per record (thread-safe).

    Raises ``KeyError`` when the segment options name a field or branch the layout does not have, and
    ``CopybookSyntaxError`` when flattening FILLER groups would produce duplicate keys.
    """

    def __init__(self, layout: Layout, options: DecodeOptions | None = None) -> None:
        self.layout = layout
        self.options = options or DecodeOptions()
        check_keys(layout.root)
        self._shift = self.options.odo == "shift"
        self._counters = {d.depending_on for f in layout.fields for d in f.dims if d.depending_on}
        self._segment_field: Field | None = None
        self._branches: dict[str, tuple[str, ...]] = {}
        self._mapped: set[int] = set()  # ids of the members of chains that hold a mapped branch
        if self.options.segments is not None:
            self._segment_field, self._branches = self.options.segments.resolve(layout)
            self._mapped = mapped_chains(layout.root, set(self._branches.values()))

    def decode(self, data: bytes | memoryview, number: int | None = None) -> Decoded:
        """Decode one record. ``number`` (1-based) goes into error messages.

        Raises ``RecordDecodeError`` (with the record number) unless ``on_error="null"``.
        """
        record = _Record(bytes(data), number)
        if self._segment_field is not None:
            record.selected = self._select(record)
        values, length = self._group(self.layout.root, 0, record, self.layout.root.name, False)
        return Decoded(values, tuple(record.errors), length)

    def _select(self, record: _Record) -> tuple[str, ...] | None:
        segment = self._segment_field
        assert segment is not None
        value = self._field(segment, segment.offset, record, segment.qualified_name, False)
        key = str(value).rstrip(" \x00") if value is not None else ""
        if key not in self._branches:
            error = RecordDecodeError(
                "segment value is not in the segment map",
                field=segment.qualified_name,
                offset=segment.offset,
                data=record.data[segment.offset : segment.offset + segment.size],
                expected=" or ".join(repr(k) for k in self._branches),
                found=repr(key),
            )
            self._failed(error, record, False)  # under on_error="null": no member is decoded
            return None
        return self._branches[key]

    def _group(
        self, group: Group, base: int, record: _Record, label: str, lenient: bool
    ) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        shift = 0
        chain_static_end = chain_actual_end = 0
        redefined = {c.redefines.upper() for c in group.children if c.redefines}
        for child in group.children:
            rel = child.offset - group.offset
            if not child.redefines:
                shift += closing_shift(base, chain_static_end, chain_actual_end, shift)
                chain_static_end, chain_actual_end = 0, 0
            start = base + rel + shift
            extent = static_extent(child)
            member = child.redefines is not None or child.name.upper() in redefined
            if id(child) in self._mapped and child.path != record.selected:
                value = None  # another segment's member: not decoded, not emitted
            else:
                child_lenient = lenient or (member and id(child) not in self._mapped)
                value, extent = self._node(child, start, record, f"{label}.{child.name}", child_lenient)
                _emit(out, child, value)
            chain_static_end = max(chain_static_end, rel + static_extent(child))
            chain_actual_end = max(chain_actual_end, start + extent)
        shift += closing_shift(base, chain_static_end, chain_actual_end, shift)
        return out, group.size + shift

    def _node(self, node: Node, start: int, record: _Record, label: str, lenient: bool) -> tuple[Any, int]:
        dim = own_dim(node)
        if dim is None:
            return self._single(node, start, record, label, lenient)
        try:
            count = self._count(dim, node, record, label, start) if dim.depending_on else dim.count
        except RecordDecodeError as exc:
            self._failed(exc, record, lenient)
            return None, dim.count * dim.stride
        values = []
        position = start
        padding = dim.stride - node.size  # SYNC slack at the end of each occurrence
        for i in range(count):
            value, extent = self._single(node, position, record, f"{label}[{i + 1}]", lenient)
            values.append(value)
            position += (extent if self._shift else node.size) + padding
        return values, (position - start) if self._shift else dim.count * dim.stride

    def _single(self, node: Node, start: int, record: _Record, label: str, lenient: bool) -> tuple[Any, int]:
        if isinstance(node, Group):
            return self._group(node, start, record, label, lenient)
        return self._field(node, start, record, label, lenient), node.size

    def _count(self, dim: Dim, node: Node, record: _Record, label: str, start: int) -> int:
        assert dim.depending_on is not None
        value = record.counters.get(dim.depending_on)
        if not isinstance(value, int) or not dim.minimum <= value <= dim.count:
            raise DependingOnOutOfRange(
                "OCCURS DEPENDING ON counter out of range",
                field=label,
                offset=start,
                expected=f"{'.'.join(dim.depending_on)} from {dim.minimum} to {dim.count}",
                found="no valid value" if value is None else str(value),
            )
        return value

    def _field(self, field: Field, start: int, record: _Record, label: str, lenient: bool) -> Any:
        data = record.data
        try:
            if start + field.size > len(data):
                value = self._short(field, start, data, label)
            else:
                raw = data[start : start + field.size]
                value = decode_field(
                    field, raw, self.options.codepage, trim=self.options.trim, name=label, offset=start
                )
        except RecordDecodeError as exc:
            self._failed(exc, record, lenient)
            value = None
        if field.path in self._counters:
            record.counters[field.path] = value
        return value

    def _short(self, field: Field, start: int, data: bytes, label: str) -> Any:
        """A field the record ends before (or inside): text reads the missing bytes as padding."""
        if field.kind in (Kind.ALNUM, Kind.NATIONAL):
            present = data[start : start + field.size]
            pad = b"\x00\x20" if field.kind == Kind.NATIONAL else self.options.codepage.encode(" ")
            missing = field.size - len(present)
            raw = present + (pad * field.size)[:missing] if missing > 0 else present
            return decode_field(
                field, raw, self.options.codepage, trim=self.options.trim, name=label, offset=start
            )
        raise RecordLengthError(
            "record ends before the end of the field",
            field=label,
            offset=start,
            data=data[start : start + field.size],
            expected=f"at least {start + field.size} bytes",
            found=f"{len(data)} bytes",
        )

    def _failed(self, error: RecordDecodeError, record: _Record, lenient: bool) -> None:
        """Apply the error policy: raise, or record the error (the caller sets the value to None)."""
        if record.number is not None:
            error = cast(RecordDecodeError, error.at_record(record.number))
        if lenient:
            return
        if self.options.on_error != "null":
            raise error
        record.errors.append(error)


def _emit(out: dict[str, Any], node: Node, value: Any) -> None:
    if not node.filler:
        out[node.name] = value
    elif isinstance(node, Group) and isinstance(value, dict):
        out.update(value)  # named items of a FILLER group belong to the enclosing group
