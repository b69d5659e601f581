"""Per-field encode plans of the block path: values of every record and occurrence -> field bytes.

:func:`encode_plan` turns a :class:`~layout.Field` (plus the encode options) into a function from a value
array ``(n, *counts)`` to ``(bytes, problem)``: the field's bytes ``(n, *counts, size)`` and a mask of
values that cannot be written (out of the PICTURE's range, negative for an unsigned field, not finite, text
too long or outside the code page). A record with a problem is encoded by the reference encoder instead,
which raises its exact error. Values are those of ``columns.Column``: unscaled integers at the field's
scale for decimal kinds, floats, ``str`` for text.

Numeric-edited fields, JUSTIFIED RIGHT text and text beyond what the code page tables cover go through the
reference ``fields.encode_field`` value by value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from adapters.codecs.copybook import fields as ref
from adapters.codecs.copybook import numeric as num
from adapters.codecs.copybook import vector_encode as ve
from adapters.codecs.copybook import vector_text as vt
from adapters.codecs.copybook.layout import Field, Kind, SignPosition, Usage
from adapters.codecs.copybook.options import EncodeOptions
from adapters.codecs.errors import RecordEncodeError

__all__ = ["EncodeKernel", "encode_plan"]

EncodeKernel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def encode_plan(field: Field, options: EncodeOptions) -> EncodeKernel:
    """The encode kernel of ``field``; see the module docstring."""
    kind = field.kind
    if kind == Kind.ZONED:
        return _zoned(field, options)
    if kind == Kind.PACKED:
        return _packed(field)
    if kind == Kind.BINARY and field.size in (1, 2, 4, 8):
        return _binary(field)
    if kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
        return _float(field)
    tables = vt.text_tables(options.codepage) if kind == Kind.ALNUM else None
    if tables is not None and not field.justified:
        return _text(field, options, tables)
    return _reference(field, options)


def _integers(values: np.ndarray) -> np.ndarray:
    """Integer values as int64/uint64, or Python ints (``object``) when they need more than 64 bits."""
    if values.dtype.kind in "iu":
        return values
    try:
        return values.astype(np.int64)
    except (OverflowError, TypeError, ValueError):
        return values.astype(object)


def _range_problem(field: Field, values: np.ndarray) -> np.ndarray:
    return np.asarray(_out_of_range(field, values), dtype=bool)


def _out_of_range(field: Field, values: np.ndarray) -> Any:
    """Values ``fields._check_fits`` rejects: negative when unsigned, beyond the PICTURE's digits, or for
    COMP-5 beyond the storage."""
    negative = values < 0
    problem = negative if not field.signed else np.zeros(values.shape, dtype=bool)
    if field.usage == Usage.NATIVE_BINARY:
        bits = field.size * 8 - (1 if field.signed else 0)
        low = -(1 << bits) if field.signed else 0
        if values.dtype == object or bits >= 63:
            big = values.astype(object)
            return problem | (big < low) | (big >= (1 << bits))
        return problem | (values < low) | (values >= (1 << bits))
    limit = 10**field.digits
    if values.dtype.kind == "u":
        return problem | (values >= np.uint64(min(limit, 2**64 - 1)))
    if values.dtype == object or limit > 2**63 - 1:
        big = values.astype(object)
        return problem | (big <= -limit) | (big >= limit)
    return problem | (values <= -limit) | (values >= limit)


def _magnitude(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "u":
        return values
    magnitude = np.abs(values)
    return np.asarray(magnitude if values.dtype == object else magnitude.astype(np.uint64))


def _zoned(field: Field, options: EncodeOptions) -> EncodeKernel:
    ebcdic = options.codepage.ebcdic
    zone = 0xF0 if ebcdic else 0x30
    leading = field.sign_position == SignPosition.LEADING
    positive = np.array(
        [num.overpunch(d, False, ebcdic=ebcdic, zoned_sign=options.zoned_sign) for d in range(10)]
    )
    negative = np.array(
        [num.overpunch(d, True, ebcdic=ebcdic, zoned_sign=options.zoned_sign) for d in range(10)]
    )
    plus, minus = (0x4E, 0x60) if ebcdic else (0x2B, 0x2D)
    space = options.codepage.space

    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = _integers(values)
        problem = _range_problem(field, values)
        ok = np.where(problem, 0, values) if values.dtype != object else values
        digits = ve.digit_bytes(_magnitude(ok), field.digits, zone)
        neg = ok < 0
        if field.signed and field.sign_separate:
            sign = np.where(neg, minus, plus).astype(np.uint8)[..., None]
            data = np.concatenate([sign, digits] if leading else [digits, sign], axis=-1)
        else:
            data = np.array(digits)
            if field.signed:
                at = 0 if leading else field.digits - 1
                digit = data[..., at] - zone
                data[..., at] = np.where(neg, negative[digit], positive[digit])
        if field.blank_when_zero:
            data[ok == 0] = space
        return data, problem

    return run


def _packed(field: Field) -> EncodeKernel:
    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = _integers(values)
        problem = _range_problem(field, values)
        ok = np.where(problem, 0, values) if values.dtype != object else values
        if field.signed:
            sign = np.where(ok < 0, 0xD, 0xC).astype(np.uint8)
        else:
            sign = np.full(values.shape, 0xF, dtype=np.uint8)
        return ve.packed_bytes(_magnitude(ok), field.size, sign), problem

    return run


def _binary(field: Field) -> EncodeKernel:
    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = _integers(values)
        problem = _range_problem(field, values)
        ok = np.where(problem, 0, values)
        return ve.int_bytes(ok, field.size, field.signed, field.byte_order), problem

    return run


def _float(field: Field) -> EncodeKernel:
    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = values.astype(np.float64)
        finite = np.isfinite(values)
        ok = np.where(finite, values, 0.0)
        if field.kind == Kind.FLOAT_IBM:
            data, overflow = ve.ibm_float_bytes(ok, field.size)
        else:
            data, overflow = ve.ieee_float_bytes(ok, field.size, field.byte_order)
        return data, ~finite | overflow

    return run


def _text(field: Field, options: EncodeOptions, tables: vt.TextTables) -> EncodeKernel:
    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if values.dtype.kind != "U":
            return _reference(field, options)(values)
        data, slow = vt.encode_points(values, field.size, tables)
        problem = np.zeros(values.shape, dtype=bool)
        if slow.any():
            data = np.array(data)  # writable: the fast path may hand back a read-only buffer
            _redo(field, options, values, slow, data, problem)
        return data, problem

    return run


def _reference(field: Field, options: EncodeOptions) -> EncodeKernel:
    """``fields.encode_field`` per value (numeric-edited, JUSTIFIED RIGHT, unusual binary sizes, ...)."""

    def run(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data = np.full((*values.shape, field.size), options.codepage.space, dtype=np.uint8)
        problem = np.zeros(values.shape, dtype=bool)
        _redo(field, options, values, np.ones(values.shape, dtype=bool), data, problem)
        return data, problem

    return run


def _redo(
    field: Field,
    options: EncodeOptions,
    values: np.ndarray,
    which: np.ndarray,
    data: np.ndarray,
    problem: np.ndarray,
) -> None:
    from adapters.codecs.copybook.columns import exact

    decimal = field.kind not in (Kind.ALNUM, Kind.NATIONAL, Kind.FLOAT_IBM, Kind.FLOAT_IEEE)
    for index in zip(*np.nonzero(which), strict=True):
        at = tuple(int(i) for i in index)
        value = values[at]
        if decimal and isinstance(value, (int, np.integer)):
            value = exact(int(value), field.scale)
        elif isinstance(value, np.generic):
            value = value.item()
        try:
            encoded = ref.encode_field(
                field, value, options.codepage, zoned_sign=options.zoned_sign, rounding=options.rounding
            )
        except RecordEncodeError:
            problem[at] = True
            continue
        data[at] = np.frombuffer(encoded, dtype=np.uint8)
