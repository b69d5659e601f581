"""Data description entries -> the record tree -> a :class:`Layout` with every offset fixed.

Sizes follow IBM Enterprise COBOL: DISPLAY one byte per character position (+1 for SIGN SEPARATE),
COMP-3 ``digits // 2 + 1``, COMP/COMP-4/BINARY/COMP-5 2, 4 or 8 bytes for 1-4, 5-9, 10-18 digits (or
GnuCOBOL's ``1-2-4-8``), COMP-1 4 and COMP-2 8 bytes. Binary items of 19 or more digits (beyond IBM's
limit) take the fewest bytes that hold the digits and a sign, as other copybook tools do. REDEFINES
members start where the redefined item starts; the chain takes the size of its largest member. SYNC aligns
binary and floating-point items to their own size from the start of the record and pads each occurrence of
a table that holds such items to the largest alignment inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from adapters.codecs.copybook.entries import Entry
from adapters.codecs.copybook.layout import (
    Condition,
    Dim,
    Field,
    Group,
    Kind,
    LayoutOptions,
    Node,
    SignPosition,
    Usage,
)
from adapters.codecs.copybook.picture import Picture, PictureError, analyse
from adapters.codecs.copybook.source import Token
from adapters.codecs.errors import CopybookSyntaxError

__all__ = ["Builder", "binary_size", "build_tree"]


def _error(token: Token, reason: str, expected: str | None = None, found: str | None = None) -> Exception:
    return CopybookSyntaxError(reason, line=token.line, column=token.column, expected=expected, found=found)


def build_tree(entries: list[Entry]) -> list[tuple[Entry, list[Entry]]]:
    """Nest entries by level number. Returns each 01/77 record with its level-66 RENAMES entries."""
    records: list[tuple[Entry, list[Entry]]] = []
    stack: list[Entry] = []
    last: Entry | None = None
    for entry in entries:
        if entry.level == 88:
            if last is None or not entry.values:
                raise _error(entry.token, "a level-88 condition needs a VALUE clause and an item before it")
            last.conditions.append(Condition(entry.name, tuple(entry.values)))
        elif entry.level == 66:
            if not records or entry.renames is None:
                raise _error(entry.token, "a level-66 item needs RENAMES and a record before it")
            records[-1][1].append(entry)
        elif entry.level in (1, 77):
            records.append((entry, []))
            stack, last = [entry], entry
        else:
            _attach(stack, entry)
            last = entry
    if not records:
        raise CopybookSyntaxError(
            "the copybook describes no record", line=1, column=1, expected="an 01 level"
        )
    return records


def _attach(stack: list[Entry], entry: Entry) -> None:
    if not stack:
        raise _error(entry.token, f"level {entry.level:02d} comes before any 01 record", expected="01")
    popped: int | None = None
    while stack and stack[-1].level >= entry.level:
        popped = stack.pop().level
    if not stack:
        raise _error(entry.token, f"level {entry.level:02d} is not inside the 01 record")
    if popped is not None and popped != entry.level:
        raise _error(
            entry.token,
            f"level {entry.level:02d} does not line up with an enclosing level",
            expected=f"level {popped:02d} or a level of an enclosing group",
        )
    parent = stack[-1]
    if (
        parent.level == 77
        or parent.picture is not None
        or parent.usage in (Usage.FLOAT_SHORT, Usage.FLOAT_LONG)
    ):
        raise _error(entry.token, f"{parent.name} is an elementary item and cannot contain {entry.name}")
    if not entry.filler and any(c.name.upper() == entry.name.upper() for c in parent.children):
        raise _error(entry.token, f"{entry.name} is defined twice in {parent.name}")
    parent.children.append(entry)
    stack.append(entry)


def binary_size(digits: int, sizes: str) -> int:
    """Bytes of a COMP item with ``digits`` digit positions under the ``2-4-8`` or ``1-2-4-8`` rule."""
    if digits <= 2 and sizes == "1-2-4-8":
        return 1
    if digits <= 4:
        return 2
    if digits <= 9:
        return 4
    if digits <= 18:
        return 8
    return math.ceil((digits * math.log2(10) + 1) / 8)


@dataclass(frozen=True, slots=True)
class _Inherited:
    usage: Usage | None = None
    sign: tuple[SignPosition, bool] | None = None
    in_redefines: bool = False


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: Kind
    usage: Usage
    size: int
    digits: int = 0
    scale: int = 0
    signed: bool = False
    sign_position: SignPosition = SignPosition.NONE
    sign_separate: bool = False
    byte_order: str = "big"
    edit_mask: str | None = None


class Builder:
    """Places one record's entries. ``fields`` collects the elementary items in copybook order."""

    def __init__(self, options: LayoutOptions, *, dry: bool = False) -> None:
        self.options = options
        self.dry = dry  # a dry run only measures: no fields are collected, no counters resolved
        self.fields: list[Field] = []
        self.odo_tables: list[tuple[Node, Dim]] = []

    def place(
        self, entry: Entry, parent: tuple[str, ...], offset: int, dims: tuple[Dim, ...], inh: _Inherited
    ) -> Node:
        path = (*parent, entry.name)
        if entry.occurs is not None:
            element = Builder(self.options, dry=True)._plain(entry, path, offset, dims, inh)
            align = _max_align(element)
            stride = _round_up(element.size, align)
            occurs = entry.occurs
            counter = self._counter(entry, dims) if occurs.depending_on else None
            dim = Dim(occurs.maximum, stride, path, occurs.minimum, counter)
            dims = (*dims, dim)
            node = self._plain(entry, path, offset, dims, inh)
            if counter is not None:
                self.odo_tables.append((node, dim))
            return node
        return self._plain(entry, path, offset, dims, inh)

    def _plain(
        self, entry: Entry, path: tuple[str, ...], offset: int, dims: tuple[Dim, ...], inh: _Inherited
    ) -> Node:
        if entry.children:
            return self._group(entry, path, offset, dims, inh)
        return self._field(entry, path, offset, dims, inh)

    def _group(
        self, entry: Entry, path: tuple[str, ...], offset: int, dims: tuple[Dim, ...], inh: _Inherited
    ) -> Group:
        if entry.picture is not None:
            raise _error(entry.token, f"group {entry.name} cannot have a PICTURE")
        redefined = {c.redefines.upper() for c in entry.children if c.redefines}
        usage = entry.usage or inh.usage
        children: list[Node] = []
        base: Node | None = None
        end = offset
        for child in entry.children:
            in_redefines = inh.in_redefines or bool(child.redefines) or child.name.upper() in redefined
            child_inh = _Inherited(usage, entry.sign or inh.sign, in_redefines)
            if child.redefines:
                if base is None or base.name.upper() != child.redefines.upper():
                    expected = (
                        f"REDEFINES {base.name}" if base is not None else "an item to redefine before it"
                    )
                    raise _error(child.token, f"{child.name} must redefine the item just before it", expected)
                node = self.place(child, path, base.offset, dims, child_inh)
            else:
                node = base = self.place(child, path, end, dims, child_inh)
            children.append(node)
            end = max(end, node.offset + _extent(node))
        return Group(
            path, entry.level, offset, end - offset, tuple(children), dims, entry.redefines,
            inh.in_redefines or bool(entry.redefines), entry.filler, tuple(entry.conditions),
            entry.token.line,
        )  # fmt: skip

    def _field(
        self, entry: Entry, path: tuple[str, ...], offset: int, dims: tuple[Dim, ...], inh: _Inherited
    ) -> Field:
        shape = _shape(entry, inh, self.options)
        if entry.sync and shape.kind in (Kind.BINARY, Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
            offset = _round_up(offset, shape.size if shape.size in (2, 4, 8) else 1)
        if entry.justified and shape.kind not in (Kind.ALNUM, Kind.NATIONAL):
            raise _error(entry.token, f"JUSTIFIED applies to alphanumeric items, not {entry.name}")
        if entry.blank_when_zero and shape.kind not in (Kind.ZONED, Kind.EDITED):
            raise _error(entry.token, f"BLANK WHEN ZERO applies to DISPLAY numeric items, not {entry.name}")
        field = Field(
            path, entry.level, offset, shape.size, shape.kind, shape.usage, entry.picture, shape.digits,
            shape.scale, shape.signed, shape.sign_position, shape.sign_separate,
            "little" if shape.byte_order == "little" else "big", dims, entry.redefines,
            inh.in_redefines or bool(entry.redefines), entry.filler, entry.sync, entry.blank_when_zero,
            entry.justified, shape.edit_mask, tuple(entry.conditions), entry.token.line,
        )  # fmt: skip
        if not self.dry:
            self.fields.append(field)
        return field

    def _counter(self, entry: Entry, dims: tuple[Dim, ...]) -> tuple[str, ...]:
        """Resolve OCCURS ... DEPENDING ON to the counter field defined before the table."""
        assert entry.occurs is not None and entry.occurs.depending_on is not None
        names = entry.occurs.depending_on
        if self.dry:
            return names
        token = entry.occurs.token
        matches = [f for f in self.fields if _qualifies(f.path, names)]
        if len(matches) != 1:
            what = "is ambiguous; qualify it with OF" if matches else "is not defined before the table"
            raise _error(token, f"DEPENDING ON counter {' OF '.join(names)} {what}")
        counter = matches[0]
        if counter.kind in (Kind.ALNUM, Kind.NATIONAL, Kind.FLOAT_IBM, Kind.FLOAT_IEEE) or counter.scale > 0:
            raise _error(token, f"DEPENDING ON counter {counter.qualified_name} must be an integer field")
        if counter.dims != dims[: len(counter.dims)]:
            raise _error(token, f"DEPENDING ON counter {counter.qualified_name} is inside another table")
        return counter.path


def _qualifies(path: tuple[str, ...], names: tuple[str, ...]) -> bool:
    """``X OF Y OF Z`` names a field called X with Y and Z among its enclosing groups, in that order."""
    if path[-1].upper() != names[0].upper():
        return False
    remaining = [p.upper() for p in reversed(path[:-1])]
    for qualifier in names[1:]:
        if qualifier.upper() not in remaining:
            return False
        remaining = remaining[remaining.index(qualifier.upper()) + 1 :]
    return True


def _extent(node: Node) -> int:
    """Bytes a node spans including all of its own occurrences."""
    own = node.dims[-1] if node.dims and node.dims[-1].owner == node.path else None
    return own.count * own.stride if own is not None else node.size


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


def _max_align(node: Node) -> int:
    if isinstance(node, Field):
        return node.size if node.sync and node.kind != Kind.ALNUM and node.size in (2, 4, 8) else 1
    return max((_max_align(child) for child in node.children), default=1)


def _picture(entry: Entry) -> Picture:
    assert entry.picture is not None and entry.picture_token is not None
    try:
        return analyse(entry.picture)
    except PictureError as exc:
        token = entry.picture_token
        raise CopybookSyntaxError(
            str(exc), line=token.line, column=token.column + exc.index, found=repr(entry.picture)
        ) from exc


def _shape(entry: Entry, inh: _Inherited, options: LayoutOptions) -> _Shape:
    """Kind, size and numeric attributes of an elementary item from its PICTURE, USAGE and SIGN."""
    usage = entry.usage or inh.usage or Usage.DISPLAY
    where = entry.usage_token or entry.token
    if usage in (Usage.FLOAT_SHORT, Usage.FLOAT_LONG):
        if entry.picture is not None:
            raise _error(where, f"{usage.value} items take no PICTURE clause")
        kind = Kind.FLOAT_IBM if options.float_format == "ibm" else Kind.FLOAT_IEEE
        order = options.native_byte_order if kind == Kind.FLOAT_IEEE else "big"
        return _Shape(kind, usage, 4 if usage == Usage.FLOAT_SHORT else 8, byte_order=order)
    if entry.picture is None:
        raise _error(entry.token, f"elementary item {entry.name} needs a PICTURE clause", expected="PIC")
    pic = _picture(entry)
    if pic.category in ("alphanumeric", "alphabetic", "national"):
        return _text_shape(entry, pic, usage, where)
    if entry.sign is not None and usage != Usage.DISPLAY:
        raise _error(entry.token, f"SIGN applies to DISPLAY numeric items, not USAGE {usage.value}")
    if pic.category == "edited":
        if usage != Usage.DISPLAY:
            raise _error(where, f"numeric-edited item {entry.name} must be USAGE DISPLAY")
        position = SignPosition.NONE if not pic.signed else _sign(entry, inh)[0]
        return _Shape(Kind.EDITED, usage, pic.length, pic.digits, pic.scale, pic.signed, position,
                      edit_mask=pic.edit_mask)  # fmt: skip
    return _numeric_shape(entry, pic, usage, inh, options)


def _sign(entry: Entry, inh: _Inherited) -> tuple[SignPosition, bool]:
    return entry.sign or inh.sign or (SignPosition.TRAILING, False)


def _text_shape(entry: Entry, pic: Picture, usage: Usage, where: Token) -> _Shape:
    if pic.category == "national":
        if usage not in (Usage.NATIONAL, Usage.DISPLAY):
            raise _error(where, f"PIC N item {entry.name} must be USAGE NATIONAL")
        return _Shape(Kind.NATIONAL, Usage.NATIONAL, 2 * pic.length, edit_mask=pic.edit_mask)
    if usage != Usage.DISPLAY:
        raise _error(where, f"alphanumeric item {entry.name} cannot be USAGE {usage.value}")
    return _Shape(Kind.ALNUM, usage, pic.length, edit_mask=pic.edit_mask)


def _numeric_shape(
    entry: Entry, pic: Picture, usage: Usage, inh: _Inherited, options: LayoutOptions
) -> _Shape:
    shape = _Shape(Kind.ZONED, usage, pic.digits, pic.digits, pic.scale, pic.signed)
    if usage == Usage.DISPLAY:
        # A SIGN clause on a picture without S still reserves the sign (as other copybook tools read it).
        if pic.signed or entry.sign is not None:
            position, separate = _sign(entry, inh)
            size = pic.digits + (1 if separate else 0)
            return replace(shape, size=size, signed=True, sign_position=position, sign_separate=separate)
        return shape
    if usage == Usage.PACKED:
        return replace(shape, kind=Kind.PACKED, size=pic.digits // 2 + 1)
    if usage in (Usage.BINARY, Usage.NATIVE_BINARY):
        order = options.native_byte_order if usage == Usage.NATIVE_BINARY else "big"
        return replace(
            shape, kind=Kind.BINARY, size=binary_size(pic.digits, options.binary_sizes), byte_order=order
        )
    raise _error(entry.usage_token or entry.token, f"numeric item {entry.name} cannot be USAGE {usage.value}")
