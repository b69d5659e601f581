"""Hypothesis strategies for the block codec: random record layouts, values that fit them, and records.

A layout is drawn as copybook text (so the parser builds it as it would any copybook): a mix of every
PICTURE / USAGE shape — zoned (unsigned; signed trailing, leading, separate), packed, binary (COMP,
COMP-5), floats, text, national — with 1-18 digits (sometimes up to 31), scales from 0 to the digit count,
OCCURS tables and nested groups. Values are drawn per field so that they fit; records are the reference
encoder's bytes for them, which tests then corrupt or replace with noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from adapters.codecs.copybook.layout import Field, Group, Kind, Layout, LayoutOptions, Node, Usage
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.tree import own_dim

_TEXT = "ABCXYZ az09-./ "


@dataclass(frozen=True)
class Drawn:
    """A drawn layout with the copybook text it came from (shown when a property fails)."""

    source: str
    layout: Layout


@st.composite
def numeric_clauses(draw: st.DrawFn) -> str:
    """``PIC ... [USAGE] [SIGN ...]`` of one numeric field."""
    usage = draw(st.sampled_from(["", "", " COMP-3", " COMP", " COMP-5", " BINARY"]))
    wide = usage in ("", " COMP-3") and draw(st.integers(0, 9)) == 0
    digits = draw(st.integers(19, 31) if wide else st.integers(1, 18))
    scale = draw(st.integers(0, min(digits, 6)))
    signed = draw(st.booleans())
    integer = digits - scale
    picture = (
        ("S" if signed else "") + (f"9({integer})" if integer else "") + (f"V9({scale})" if scale else "")
    )
    sign = ""
    if signed and not usage:
        sign = draw(
            st.sampled_from(["", " SIGN LEADING", " SIGN TRAILING SEPARATE", " SIGN LEADING SEPARATE"])
        )
    return f"PIC {picture}{usage}{sign}"


def field_clauses() -> st.SearchStrategy[str]:
    return st.one_of(
        numeric_clauses(),
        st.integers(1, 12).map(lambda n: f"PIC X({n})"),
        st.integers(1, 4).map(lambda n: f"PIC N({n})"),
        st.sampled_from(["COMP-1", "COMP-2"]),
    )


@st.composite
def layouts(draw: st.DrawFn, max_fields: int = 8) -> Drawn:
    """A record of 1..``max_fields`` items, some in OCCURS tables or groups."""
    lines = ["01 REC."]
    count = draw(st.integers(1, max_fields))
    for i in range(count):
        occurs = draw(st.sampled_from(["", "", "", " OCCURS 2", " OCCURS 3"]))
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"   05 G{i}{occurs}.")
            for j in range(draw(st.integers(1, 3))):
                lines.append(f"      10 G{i}F{j} {draw(field_clauses())}.")
        else:
            lines.append(f"   05 F{i} {draw(field_clauses())}{occurs}.")
    source = "\n".join(lines)
    options = LayoutOptions(
        float_format=draw(st.sampled_from(["ibm", "ieee"])),
        native_byte_order=draw(st.sampled_from(["big", "little"])),
    )
    return Drawn(source, parse_copybook(source, options))


def field_values(field: Field) -> st.SearchStrategy[Any]:
    """Values that fit ``field``, in the reference's value types."""
    if field.kind == Kind.ALNUM:
        return st.text(alphabet=_TEXT, max_size=field.size).map(str.rstrip)
    if field.kind == Kind.NATIONAL:
        return st.text(alphabet=_TEXT + "\u00e9\u20ac\u4e2d", max_size=field.size // 2).map(str.rstrip)
    if field.kind == Kind.FLOAT_IBM and field.size == 4:
        # IBM short floats hold 21 to 24 significant bits (hexadecimal normalisation): draw exact ones
        return st.integers(-(1 << 21), 1 << 21).map(float)
    if field.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
        width = 32 if field.size == 4 else 64
        drawn = st.floats(-(2.0**50), 2.0**50, allow_nan=False, allow_subnormal=False, width=width).map(float)
        # IBM hexadecimal floats end near 5.4e-79: smaller magnitudes become zero
        return drawn.filter(lambda v: v == 0 or abs(v) > 1e-70) if field.kind == Kind.FLOAT_IBM else drawn
    if field.usage == Usage.NATIVE_BINARY:
        bits = field.size * 8 - (1 if field.signed else 0)
        low, high = (-(1 << bits), (1 << bits) - 1) if field.signed else (0, (1 << bits) - 1)
    else:
        high = 10**field.digits - 1
        low = -high if field.signed else 0
    return st.integers(low, high).map(lambda unscaled: _scaled(unscaled, field.scale))


def _scaled(unscaled: int, scale: int) -> int | Decimal:
    return unscaled if scale <= 0 else Decimal(f"{unscaled}E-{scale}")


@st.composite
def records(draw: st.DrawFn, layout: Layout) -> dict[str, Any]:
    """One record's values in the reference's dict shape."""
    return _group(draw, layout.root)


def _group(draw: st.DrawFn, group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in group.children:
        if child.filler:
            continue
        dim = own_dim(child)
        if dim is None:
            out[child.name] = _single(draw, child)
        else:
            out[child.name] = [_single(draw, child) for _ in range(dim.count)]
    return out


def _single(draw: st.DrawFn, node: Node) -> Any:
    if isinstance(node, Group):
        return _group(draw, node)
    return draw(field_values(node))
