"""Column -> typed numpy array conversion for model inputs, with per-row failure reasons.

The happy path is one vectorised numpy conversion per column. Only when that fails (or flags rows as NaN,
out of range, ...) do we look at individual values, and then only to find the bad rows and say why.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from gateway.datatypes import Datatype

__all__ = ["BadRows", "convert_column"]

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SHOWN = 40  # longest value text quoted in a reason


class BadRows:
    """Collects rejected rows: the first (field, reason) recorded for a row wins."""

    def __init__(self, n_rows: int) -> None:
        self._n = n_rows
        self._mask = np.zeros(n_rows, dtype=bool)
        self._why: dict[int, tuple[str, str]] = {}

    def reject(self, rows: np.ndarray, field: str, reasons: Sequence[str]) -> None:
        for row, reason in zip(rows.tolist(), reasons, strict=True):
            self._why.setdefault(row, (field, reason))
        self._mask[rows] = True

    def reject_all(self, field: str, reason: str) -> None:
        rows = np.arange(self._n)
        self.reject(rows, field, [reason] * self._n)

    def accepted(self) -> np.ndarray:
        """0-based indices of the rows nobody rejected, ascending."""
        return np.flatnonzero(~self._mask)

    def rows(self) -> Iterator[tuple[int, str, str]]:
        """(row index, field, reason) for each rejected row, ascending by row."""
        for row in sorted(self._why):
            field, reason = self._why[row]
            yield row, field, reason


def convert_column(values: Any, datatype: Datatype, allow_nan: bool, field: str, bad: BadRows) -> np.ndarray:
    """``values`` as a 1-D array of ``datatype``; rows that cannot be converted are recorded in ``bad``.

    Bad rows hold a placeholder (0, False or b"") in the returned array, so the caller can still stack it.
    """
    if datatype.name == "BYTES":
        return _to_bytes(values, field, bad)
    if datatype.name == "BOOL":
        return _to_bool(values, field, bad)
    if datatype.numpy.kind == "f":
        return _to_float(values, datatype, allow_nan, field, bad)
    source = values if isinstance(values, np.ndarray) else _as_array(values)
    return _to_int(source, datatype, field, bad)


def _as_array(values: Any) -> np.ndarray:
    try:
        array = np.asarray(values)
    except ValueError:  # ragged nested values: keep them as objects, the slow path explains
        array = np.fromiter(values, dtype=object, count=len(values))
    if array.ndim != 1:
        array = np.fromiter(values, dtype=object, count=len(values))
    return array


def _to_float(source: Any, datatype: Datatype, allow_nan: bool, field: str, bad: BadRows) -> np.ndarray:
    parsed: np.ndarray
    if isinstance(source, np.ndarray) and source.dtype.kind in "biuf":
        parsed = source
    else:
        # Straight from a list (or str/object array): numpy parses numeric text and Decimals in one pass,
        # and reads None as NaN, which the finiteness check below then rejects as a missing value.
        try:
            parsed = np.asarray(source, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            parsed = _parse_each(source, _parse_float, field, bad)
        if parsed.ndim != 1:
            parsed = _parse_each(source, _parse_float, field, bad)
    with np.errstate(over="ignore", invalid="ignore"):
        result = parsed.astype(datatype.numpy, copy=False)
    broken = ~np.isfinite(result)
    if allow_nan:
        # NaN may pass (missing values read as NaN); a finite value too large for the type may not.
        broken &= ~np.isnan(result)
    if broken.any():
        rows = np.flatnonzero(broken)
        bad.reject(rows, field, [_float_reason(source[r], datatype) for r in rows.tolist()])
        result = result.copy() if result is source else result
        result[rows] = 0
    return result


def _to_int(source: np.ndarray, datatype: Datatype, field: str, bad: BadRows) -> np.ndarray:
    info = np.iinfo(datatype.numpy)
    if source.dtype.kind in "biu":
        wide = source
    elif source.dtype.kind == "f":
        wide = _whole_floats(source, field, bad)
    else:
        try:
            wide = source.astype(np.int64)
        except (ValueError, TypeError, OverflowError):
            wide = _parse_each(source, _parse_int, field, bad)
    if wide.dtype.kind == "u" and wide.dtype.itemsize == 8 and info.max < np.iinfo(np.uint64).max:
        out_of_range = wide > np.uint64(info.max)
    else:
        out_of_range = (wide < info.min) | (wide > info.max)
    if out_of_range.any():
        rows = np.flatnonzero(out_of_range)
        bad.reject(rows, field, [f"out of range for {datatype.name}: {_show(source[r])}" for r in rows])
        wide = wide.copy()
        wide[rows] = 0
    return wide.astype(datatype.numpy, copy=False)


def _whole_floats(source: np.ndarray, field: str, bad: BadRows) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(source) & (source == np.trunc(source)) & (np.abs(source) < 2.0**63)
    if not whole.all():
        rows = np.flatnonzero(~whole)
        bad.reject(rows, field, [_int_reason(source[r]) for r in rows.tolist()])
        source = np.where(whole, source, 0)
    return source.astype(np.int64)


def _parse_each(source: Any, parse: Any, field: str, bad: BadRows) -> np.ndarray:
    """The slow path: parse value by value, recording the rows that fail with their reasons."""
    out = []
    rows: list[int] = []
    reasons: list[str] = []
    for row, value in enumerate(source.tolist() if isinstance(source, np.ndarray) else source):
        try:
            out.append(parse(value))
        except _Unconvertible as exc:
            out.append(0)
            rows.append(row)
            reasons.append(str(exc))
    if rows:
        bad.reject(np.asarray(rows, dtype=np.intp), field, reasons)
    return np.asarray(out, dtype=np.float64 if parse is _parse_float else np.int64)


class _Unconvertible(ValueError):
    """A value that cannot become the input's datatype; the message is the rejection reason."""


def _parse_float(value: Any) -> float:
    if _is_missing(value):
        raise _Unconvertible("missing value")
    try:
        return float(value.strip() if isinstance(value, str | bytes) else value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _Unconvertible(f"not a number: {_show(value)}") from exc


def _parse_int(value: Any) -> int:
    if _is_missing(value):
        raise _Unconvertible("missing value")
    if isinstance(value, bool | int | np.integer):
        return int(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _Unconvertible(f"not a number: {_show(value)}") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise _Unconvertible(_int_reason(value))
    return int(number)


def _to_bool(values: Any, field: str, bad: BadRows) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
        return np.asarray(values != 0)
    out = np.zeros(len(values), dtype=bool)
    rows: list[int] = []
    reasons: list[str] = []
    for row, value in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        if isinstance(value, bool | int | np.integer | np.bool_):
            out[row] = bool(value)
            continue
        text = value.strip().casefold() if isinstance(value, str) else None
        if text in _TRUE or text in _FALSE:
            out[row] = text in _TRUE
        else:
            rows.append(row)
            reasons.append("missing value" if _is_missing(value) else f"not a boolean: {_show(value)}")
    if rows:
        bad.reject(np.asarray(rows, dtype=np.intp), field, reasons)
    return out


def _to_bytes(values: Any, field: str, bad: BadRows) -> np.ndarray:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    out = np.empty(len(items), dtype=object)
    rows: list[int] = []
    for row, value in enumerate(items):
        if isinstance(value, str):
            out[row] = value.encode("utf-8")
        elif isinstance(value, bytes):
            out[row] = value
        elif _is_missing(value):
            out[row] = b""
            rows.append(row)
        else:
            out[row] = str(value).encode("utf-8")
    if rows:
        bad.reject(np.asarray(rows, dtype=np.intp), field, ["missing value"] * len(rows))
    return out


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _float_reason(value: Any, datatype: Datatype) -> str:
    if _is_missing(value):
        return "missing value"
    try:
        number = float(value.strip() if isinstance(value, str | bytes) else value)
    except (ValueError, TypeError, OverflowError):
        return f"not a number: {_show(value)}"
    if math.isnan(number):
        return "NaN not allowed"
    if math.isinf(number):
        return f"not a finite number: {_show(value)}"
    return f"out of range for {datatype.name}: {_show(value)}"


def _int_reason(value: Any) -> str:
    if _is_missing(value):
        return "missing value"
    return f"not a whole number: {_show(value)}"


def _show(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
