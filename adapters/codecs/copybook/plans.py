"""Per-field decode plans of the block path: which kernel reads a field, with which tables.

:func:`decode_plan` turns one :class:`~layout.Field` (plus the code page and trim mode) into a
:class:`DecodePlan` whose ``run`` maps a chunk of rows to ``(values, bad, overrides)`` for every record
and occurrence at once. Fields no vectorised kernel covers — numeric-edited pictures, binary items of
unusual size — get a plan that calls the reference ``fields.decode_field`` once per occurrence; they are
rare in bulk data, and the results stay identical by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from adapters.codecs.copybook import fields as ref
from adapters.codecs.copybook import numeric as num
from adapters.codecs.copybook import vector_decode as vd
from adapters.codecs.copybook.blocks import WORD, Slot, byte_view, word_fits
from adapters.codecs.copybook.codepages import Codepage
from adapters.codecs.copybook.layout import Field, Kind, SignPosition
from adapters.codecs.errors import RecordDecodeError

__all__ = [
    "DecodePlan",
    "Overrides",
    "decimal_dtype",
    "decode_plan",
    "needs_padding",
    "packed_sign_table",
    "redo",
    "unscale",
    "zoned_spec",
]

Overrides = dict[tuple[int, ...], Any]  # (record, *subscripts) -> value decoded by the reference
ChunkResult = tuple[np.ndarray, np.ndarray, Overrides | None]
Kernel = Callable[[np.ndarray], ChunkResult]
_BINARY_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class DecodePlan:
    """How to decode one field for a chunk of rows: ``run(rows) -> (values, bad, overrides)``.

    ``slot`` is the field's geometry in an unpadded record. ``dtype`` is the column's dtype: ``int64``
    (``object`` beyond 18 digits, ``uint64`` for unsigned 8-byte binary) of unscaled integers for decimal
    kinds, ``float64`` for floats; text columns hold raw bytes (``uint8`` with ``item_shape`` =
    ``(size,)``) that ``materialize`` turns into ``str`` when first read (see ``columns.Column``).
    """

    field: Field
    slot: Slot
    dtype: np.dtype
    run: Kernel
    item_shape: tuple[int, ...] = ()
    materialize: Callable[[np.ndarray], np.ndarray] | None = None


def decimal_dtype(field: Field) -> np.dtype:
    """The dtype of a decimal column: the smallest exact one for the field's values."""
    if field.kind == Kind.BINARY and field.size in _BINARY_SIZES:
        return np.dtype(np.uint64 if field.size == 8 and not field.signed else np.int64)
    return np.dtype(np.int64 if field.digits <= vd.MAX_INT64_DIGITS else object)


def decode_plan(field: Field, codepage: Codepage, trim: str, pad: int = 0) -> DecodePlan:
    """The plan for ``field`` reading rows with ``pad`` bytes in front of each record (0 or ``PAD``, see
    :func:`needs_padding`); see the module docstring for what is vectorised."""
    slot = Slot.of(field)
    at = slot.shifted(pad)
    kind = field.kind
    if kind in (Kind.ALNUM, Kind.NATIONAL):
        from adapters.codecs.copybook.plan_text import text_plan  # deferred: plan_text builds on this module

        return text_plan(field, slot, at, codepage, trim)
    if kind == Kind.ZONED:
        return DecodePlan(field, slot, decimal_dtype(field), _zoned_kernel(field, at, codepage))
    numeric: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    if kind == Kind.PACKED:
        spec = vd.PackedSpec(field.digits, packed_sign_table(field.signed))
        numeric = lambda rows: vd.decode_packed(rows, at, spec)  # noqa: E731
    elif kind == Kind.BINARY and field.size in _BINARY_SIZES:
        signed, order = field.signed, field.byte_order
        numeric = lambda rows: vd.decode_binary(rows, at, signed=signed, byte_order=order)  # noqa: E731
    elif kind == Kind.FLOAT_IEEE:
        order = field.byte_order
        numeric = lambda rows: vd.decode_ieee_float(rows, at, byte_order=order)  # noqa: E731
    elif kind == Kind.FLOAT_IBM:
        numeric = lambda rows: vd.decode_ibm_float(rows, at)  # noqa: E731
    else:
        return DecodePlan(field, slot, decimal_dtype(field), _reference_kernel(field, at, codepage, trim))
    dtype = np.dtype(np.float64) if kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE) else decimal_dtype(field)
    return DecodePlan(field, slot, dtype, lambda rows: (*numeric(rows), None))


def needs_padding(fields: tuple[Field, ...], record_length: int, ebcdic: bool) -> bool:
    """Whether some SWAR word read would leave an unpadded row (tiny records with tables near the start)."""
    for field in fields:
        if field.kind == Kind.ZONED:
            spec = zoned_spec(field, ebcdic)
            ends = range(spec.end, spec.start, -WORD)
        elif field.kind == Kind.PACKED:
            ends = range(field.size, 0, -WORD)
        else:
            continue
        if not all(word_fits(Slot.of(field), end, record_length) for end in ends):
            return True
    return False


def packed_sign_table(signed: bool) -> np.ndarray:
    """Sign nibble -> +1 / -1 / 0 (not allowed), as ``numeric.decode_packed`` judges it."""
    table = np.zeros(16, dtype=np.int8)
    table[[0xA, 0xC, 0xE, 0xF]] = 1
    if signed:
        table[[0xB, 0xD]] = -1
    return table


def zoned_spec(field: Field, ebcdic: bool) -> vd.ZonedSpec:
    """Where the digits and the sign of a zoned field are, and the byte tables that judge them."""
    zone = 0xF0 if ebcdic else 0x30
    size = field.size
    leading = field.sign_position == SignPosition.LEADING
    if field.signed and field.sign_separate:
        plus, minus = (0x4E, 0x60) if ebcdic else (0x2B, 0x2D)
        signs = np.zeros(256, dtype=np.int8)
        signs[plus], signs[minus] = 1, -1
        start, end, sign_at = (1, size, 0) if leading else (0, size - 1, size - 1)
        return vd.ZonedSpec(start, end, zone, None, None, None, sign_at, signs)
    if not field.signed and not ebcdic:
        return vd.ZonedSpec(0, size, zone, None, None, None, None, None)
    digit = np.full(256, 255, dtype=np.uint8)
    negative = np.zeros(256, dtype=bool)
    for byte in range(256):
        punched = num.overpunched(byte, ebcdic)
        if punched is not None and (field.signed or not punched[1]):
            digit[byte], negative[byte] = punched
    punch_at = 0 if field.signed and leading else size - 1
    return vd.ZonedSpec(0, size, zone, punch_at, digit, negative, None, None)


def _zoned_kernel(field: Field, slot: Slot, codepage: Codepage) -> Kernel:
    spec = zoned_spec(field, codepage.ebcdic)
    space = codepage.space

    def run(rows: np.ndarray) -> ChunkResult:
        values, bad = vd.decode_zoned(rows, slot, spec)
        if field.blank_when_zero and bad.any():
            blank = (byte_view(rows, slot) == space).all(axis=-1)
            values = np.where(blank, 0, values)
            bad &= ~blank
        return values, bad, None

    return run


def _reference_kernel(field: Field, slot: Slot, codepage: Codepage, trim: str) -> Kernel:
    """One reference decode per occurrence, for the field kinds the vector kernels do not cover."""

    def run(rows: np.ndarray) -> ChunkResult:
        raw = byte_view(rows, slot)
        values = np.zeros(raw.shape[:-1], dtype=decimal_dtype(field))
        bad = np.zeros(raw.shape[:-1], dtype=bool)
        for at, value in redo(field, raw, np.ones(raw.shape[:-1], dtype=bool), bad, codepage, trim).items():
            values[at] = unscale(value, field.scale)
        return values, bad, None

    return run


def redo(
    field: Field, raw: np.ndarray, which: np.ndarray, bad: np.ndarray, codepage: Codepage, trim: str
) -> Overrides:
    """Decode the occurrences ``which`` selects with the reference: their values, and ``bad`` flags set
    where the reference raises."""
    out: Overrides = {}
    for index in zip(*np.nonzero(which), strict=True):
        at = tuple(int(i) for i in index)
        try:
            out[at] = ref.decode_field(field, bytes(raw[at]), codepage, trim=trim)  # type: ignore[arg-type]
        except RecordDecodeError:
            bad[at] = True
    return out


def unscale(value: object, scale: int) -> int:
    """The integer of stored digits of a reference value (``Decimal('30.50')``, scale 2 -> 3050)."""
    if isinstance(value, int):
        return int(value // 10**-scale if scale < 0 else value * 10**scale)
    assert isinstance(value, Decimal)
    sign, digits, exponent = value.as_tuple()  # exact at any length (scaleb would round to 28 digits)
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + scale
    magnitude = magnitude * 10**shift if shift >= 0 else magnitude // 10**-shift
    return int(-magnitude if sign else magnitude)
