"""JSON Lines for records: numbers keep exactly the digits the record holds.

``dumps`` writes ``Decimal`` values as JSON numbers with their exponent preserved (``Decimal("30.50")``
becomes ``30.50``, never ``30.5`` or a binary-float approximation); ``loads`` reads JSON numbers with a
fraction or exponent back as ``Decimal`` and integers as ``int``. NaN and infinities are not JSON and are
refused both ways.

>>> from decimal import Decimal
>>> dumps({"AMOUNT": Decimal("30.50"), "IDS": [1, 2], "NAME": "Zoë", "BIG": Decimal("3.0503E+7")})
'{"AMOUNT":30.50,"IDS":[1,2],"NAME":"Zoë","BIG":30503000}'
>>> loads('{"AMOUNT": 30.50}')
{'AMOUNT': Decimal('30.50')}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads", "read_records"]


def dumps(value: Any) -> str:
    """One JSON value on one line (no spaces). Raises ``ValueError`` for non-finite numbers and
    ``TypeError`` for values JSON cannot carry."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
        out.append(repr(float(value)))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + json.dumps(str(key), ensure_ascii=False) + ":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} values cannot be written as JSON")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """Parse one JSON value; numbers with a fraction or exponent become ``Decimal``.

    Raises ``ValueError`` (``json.JSONDecodeError``) for malformed JSON and for NaN/Infinity.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)


def read_records(stream: Iterable[str | bytes]) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of a caller-opened JSON Lines stream.

    Raises ``ValueError`` naming the line number for a line that is not JSON.
    """
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: not valid JSON ({exc})") from exc
