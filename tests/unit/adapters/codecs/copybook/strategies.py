"""Hypothesis strategies: (PICTURE + USAGE) shapes and values that fit them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from adapters.codecs.copybook.layout import Field, LayoutOptions
from adapters.codecs.copybook.parser import parse_copybook


@dataclass(frozen=True)
class NumericShape:
    clause: str
    digits: int
    scale: int
    signed: bool
    native_order: str = "big"

    def field(self) -> Field:
        return _field(self.clause, self.native_order)


@functools.lru_cache(maxsize=4096)
def _field(clause: str, native_order: str) -> Field:
    options = LayoutOptions(native_byte_order=native_order)  # type: ignore[arg-type]
    return parse_copybook(f"01 R. 05 F {clause}.", options).fields[0]


_SIGNS = ("", " SIGN LEADING", " SIGN TRAILING SEPARATE", " SIGN LEADING SEPARATE")


@st.composite
def numeric_shapes(draw: st.DrawFn) -> NumericShape:
    digits = draw(st.integers(1, 18))
    scale = draw(st.integers(0, digits))
    signed = draw(st.booleans())
    usage = draw(st.sampled_from(["", " COMP", " COMP-3", " COMP-5", " BINARY", " PACKED-DECIMAL"]))
    integer, fraction = digits - scale, scale
    picture = (
        ("S" if signed else "")
        + (f"9({integer})" if integer else "")
        + (f"V9({fraction})" if fraction else "")
    )
    sign = draw(st.sampled_from(_SIGNS)) if signed and not usage else ""
    order = draw(st.sampled_from(["big", "little"]))
    return NumericShape(f"PIC {picture}{usage}{sign}", digits, scale, signed, order)


@st.composite
def shapes_with_values(draw: st.DrawFn) -> tuple[NumericShape, int | Decimal]:
    shape = draw(numeric_shapes())
    bound = 10**shape.digits - 1
    unscaled = draw(st.integers(-bound if shape.signed else 0, bound))
    value: int | Decimal = unscaled if shape.scale == 0 else Decimal(f"{unscaled}E-{shape.scale}")
    return shape, value
