"""JSON Lines records as column chunks: a chunked reader and a columnar writer.

Built on :mod:`adapters.codecs.jsonl`, so numbers keep their exact digits: ``30.50`` is read as
``Decimal("30.50")`` and a carried ``Decimal`` is written back as ``30.50``. Record numbers are line
numbers (1-based; blank lines are skipped but still counted), so a reject names the line to look at.

Each line must hold one JSON object. Nested objects become dotted field names (``{"claim": {"amount": 1}}``
gives the field ``claim.amount``); lists stay values. A line that is not valid text in the encoding, not
JSON, or not an object is a :class:`BadRecord`; the lines around it are read normally.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

import numpy as np

from adapters.codecs.chunks import BadRecord, DecodedChunk
from adapters.codecs.errors import RecordEncodeError
from adapters.codecs.jsonl import dumps, loads

__all__ = ["JsonlReader", "JsonlWriter"]

_SHOWN = 60  # characters of a bad line quoted in a reason


class JsonlReader:
    """Reads a caller-opened binary stream in chunks of decoded records.

    ``wanted(name)`` says which (flattened) fields to return; ``None`` returns all. A field a record lacks
    is ``None`` in that record's row.
    """

    def __init__(self, encoding: str = "utf-8", wanted: Callable[[str], bool] | None = None) -> None:
        self.encoding = encoding
        self._wanted = wanted

    def chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        """Yield chunks of at most ``rows`` decoded records, in input order; at least one chunk."""
        if rows < 1:
            raise ValueError(f"chunk size must be at least 1 record, got {rows}")
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        bad: list[BadRecord] = []
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            record = self._decode(raw, number, bad)
            if record is not None:
                records.append(record)
                numbers.append(number)
            if len(records) == rows:
                yield _chunk(records, numbers, bad)
                records, numbers, bad = [], [], []
        if records or bad or not numbers:
            yield _chunk(records, numbers, bad)

    def _decode(self, raw: bytes, number: int, bad: list[BadRecord]) -> dict[str, Any] | None:
        try:
            value = loads(raw.decode(self.encoding))
        except UnicodeDecodeError as exc:
            bad.append(BadRecord(number, "", f"not valid {self.encoding} text at byte {exc.start}"))
            return None
        except ValueError as exc:
            bad.append(BadRecord(number, "", f"not valid JSON: {_short(str(exc))}"))
            return None
        if not isinstance(value, dict):
            bad.append(BadRecord(number, "", f"expected a JSON object, found {_json_kind(value)}"))
            return None
        flat: dict[str, Any] = {}
        _flatten(value, "", flat)
        if self._wanted is not None:
            flat = {k: v for k, v in flat.items() if self._wanted(k)}
        return flat


def _chunk(records: list[dict[str, Any]], numbers: list[int], bad: list[BadRecord]) -> DecodedChunk:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {name: _column([r.get(name) for r in records]) for name in names}
    return DecodedChunk(columns, np.asarray(numbers, dtype=np.int64), bad, tuple(names))


def _column(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _flatten(value: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            _flatten(item, name + ".", out)
        else:
            out[name] = item


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a number"


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


class JsonlWriter:
    """Encodes result columns as JSON Lines (UTF-8), one object per row with keys in ``columns`` order.

    Floats are written with the shortest digits that read back to the same value of their own precision
    (a float32 probability as ``0.93584883``, not its float64 expansion); NaN and infinities as ``null``.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        keys = [json.dumps(name, ensure_ascii=False).replace("%", "%%") for name in self.columns]
        self._row = "{" + ",".join(f"{key}:%s" for key in keys) + "}"

    def header(self) -> bytes:
        return b""

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """The lines for one chunk of results. Raises RecordEncodeError for a value JSON cannot hold."""
        rendered = [_render(name, values[name]) for name in self.columns]
        if not rendered or not rendered[0]:
            return b""
        row = self._row
        return ("\n".join(row % cells for cells in zip(*rendered, strict=True)) + "\n").encode("utf-8")


def _render(name: str, values: Any) -> list[str]:
    array = values if isinstance(values, np.ndarray) else None
    if array is not None and array.dtype.kind == "f":
        cells = array.astype(str)
        broken = ~np.isfinite(array)
        if broken.any():
            cells[broken] = "null"
        return list(cells.tolist())
    if array is not None and array.dtype.kind in "iu":
        return list(array.astype(str).tolist())
    if array is not None and array.dtype.kind == "b":
        return list(np.where(array, "true", "false").tolist())
    items = array.tolist() if array is not None else list(values)
    if set(map(type, items)) <= {str}:
        return [json.dumps(v, ensure_ascii=False) for v in items]
    return [_value(name, v) for v in items]


def _value(name: str, value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, Decimal) and not value.is_finite():
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise RecordEncodeError(f"cannot write {type(value).__name__} as JSON: {exc}", field=name) from exc
