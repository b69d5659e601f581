"""PICTURE strings -> category, character positions, digits, scale and edit mask.

>>> p = analyse("S9(5)V99")
>>> (p.category, p.length, p.digits, p.scale, p.signed)
('numeric', 7, 7, 2, True)
>>> analyse("9(5)PPP").scale, analyse("PPP9(5)").scale
(-3, 8)
>>> p = analyse("ZZ,ZZ9.99CR")
>>> (p.category, p.length, p.digits, p.scale, p.edit_mask)
('edited', 11, 7, 2, 'ZZ,ZZ9.99cr')

In an edit mask every character is one byte of the field; CR and DB are written ``cr`` and ``db`` so that
the B of DB is not read as a blank insertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Picture", "PictureError", "analyse"]

Category = Literal["alphabetic", "alphanumeric", "national", "numeric", "edited"]

_SYMBOLS = frozenset("AX9NSVPZ*+-.,B0/$")
_EDIT_ONLY = frozenset("Z*+-.,$") | {"CR", "DB"}
_INSERTIONS = frozenset("B0/")
_MASK = {"CR": "cr", "DB": "db"}


class PictureError(ValueError):
    """A PICTURE string is malformed or unsupported; ``index`` is the 0-based position in the string."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True, slots=True)
class Picture:
    """What a PICTURE string says, independent of USAGE.

    ``length`` counts character positions (bytes when USAGE DISPLAY; V, S and P take none).
    ``digits`` counts digit positions stored in the data; ``scale`` places the decimal point
    (value = unscaled * 10 ** -scale, see ``layout``). ``edit_mask`` is set for edited pictures.
    """

    text: str
    category: Category
    length: int
    digits: int = 0
    scale: int = 0
    signed: bool = False
    edit_mask: str | None = None


def _expand(text: str) -> list[tuple[str, int]]:
    """Symbols with repeat counts expanded, each with the index it came from."""
    out: list[tuple[str, int]] = []
    i = 0
    upper = text.upper()
    while i < len(upper):
        if upper[i : i + 2] in ("CR", "DB"):
            out.append((upper[i : i + 2], i))
            i += 2
            continue
        symbol = upper[i]
        if symbol not in _SYMBOLS:
            raise PictureError(f"PICTURE symbol {text[i]!r} is not supported", i)
        start, i = i, i + 1
        if i < len(upper) and upper[i] == "(":
            close = upper.find(")", i)
            count = upper[i + 1 : close] if close > 0 else ""
            if not count.isdigit() or int(count) == 0:
                raise PictureError("repeat count must be a positive number in parentheses", i)
            out.extend([(symbol, start)] * int(count))
            i = close + 1
        else:
            out.append((symbol, start))
    if not out:
        raise PictureError("PICTURE string is empty", 0)
    return out


def analyse(text: str) -> Picture:
    """Classify a PICTURE string. Raises :class:`PictureError` naming the offending position."""
    symbols = _expand(text)
    kinds = {s for s, _ in symbols}
    if kinds <= {"A", "X", "9"} | _INSERTIONS and kinds & {"A", "X"}:
        return _text_picture(text, symbols, kinds)
    if "N" in kinds:
        if not kinds <= {"N"} | _INSERTIONS:
            raise PictureError(
                "PIC N cannot be mixed with other symbols", _first(symbols, set(kinds - {"N"}))
            )
        mask = "".join(s for s, _ in symbols) if kinds != {"N"} else None
        return Picture(text, "national", len(symbols), edit_mask=mask)
    if kinds & _EDIT_ONLY or kinds & _INSERTIONS:
        return _edited(text, symbols)
    return _numeric(text, symbols)


def _first(symbols: list[tuple[str, int]], wanted: set[str]) -> int:
    return next(index for symbol, index in symbols if symbol in wanted)


def _text_picture(text: str, symbols: list[tuple[str, int]], kinds: set[str]) -> Picture:
    category: Category = "alphabetic" if kinds <= {"A"} else "alphanumeric"
    mask = "".join(s for s, _ in symbols) if kinds & _INSERTIONS else None
    return Picture(text, category, len(symbols), edit_mask=mask)


def _numeric(text: str, symbols: list[tuple[str, int]]) -> Picture:
    """A numeric picture made of 9, S, V and P."""
    signed = symbols[0][0] == "S"
    body = symbols[1:] if signed else symbols
    for symbol, index in body:
        if symbol not in "9VP":
            what = "S must come first" if symbol == "S" else f"{symbol!r} cannot appear in a numeric PICTURE"
            raise PictureError(what, index)
    if sum(1 for s, _ in body if s == "V") > 1:
        raise PictureError("a PICTURE holds at most one V", _first(body[_first_v(body) + 1 :], {"V"}))
    positions = [s for s, _ in body if s != "V"]
    digits = positions.count("9")
    if digits == 0:
        raise PictureError("a numeric PICTURE needs at least one 9", 0)
    _check_p_placement(body)
    v_at = _first_v(body)
    if v_at >= 0:
        point = sum(1 for s, _ in body[:v_at] if s != "V")
    elif positions[0] == "P":
        point = 0  # leading P: the assumed point is left of the P positions
    else:
        point = len(positions)
    last_nine = max(i for i, s in enumerate(positions) if s == "9")
    return Picture(text, "numeric", digits, digits=digits, scale=last_nine - point + 1, signed=signed)


def _first_v(body: list[tuple[str, int]]) -> int:
    return next((i for i, (s, _) in enumerate(body) if s == "V"), -1)


def _check_p_placement(body: list[tuple[str, int]]) -> None:
    """P positions must sit at one end of the digits (optionally next to V), never between nines."""
    plain = "".join(s for s, _ in body if s != "V")
    stripped = plain.strip("P")
    if "P" in stripped:
        raise PictureError("P must be at the left or right end of the digit positions", _first(body, {"P"}))
    if plain.startswith("P") and plain.endswith("P"):
        raise PictureError("P cannot be at both ends of the digit positions", _first(body, {"P"}))


def _edited(text: str, symbols: list[tuple[str, int]]) -> Picture:
    """A numeric-edited picture (Z * + - . , CR DB $ B 0 /, with 9 and optionally V or a leading S)."""
    signed = symbols[0][0] == "S"
    body = symbols[1:] if signed else symbols
    mask: list[str] = []
    digits = 0
    point_digits: int | None = None  # digit positions seen when the point (. or V) came
    for i, (symbol, index) in enumerate(body):
        if symbol in ("S", "P", "A", "X", "N"):
            raise PictureError(f"{symbol!r} cannot appear in a numeric-edited PICTURE", index)
        if symbol in (".", "V"):
            if point_digits is not None:
                raise PictureError("a PICTURE holds at most one decimal point", index)
            point_digits = digits
        if symbol != "V":
            mask.append(_MASK.get(symbol, symbol))
        if symbol in ("9", "Z", "*") or (symbol in "+-$" and _floating_digit(body, i)):
            digits += 1
    if digits == 0:
        raise PictureError("a numeric-edited PICTURE needs at least one digit position", 0)
    if signed and any(s in ("+", "-", "CR", "DB") for s, _ in body):
        raise PictureError("S cannot be combined with an editing sign", symbols[0][1])
    scale = 0 if point_digits is None else digits - point_digits
    joined = "".join(mask)
    return Picture(text, "edited", len(joined), digits=digits, scale=scale, signed=signed, edit_mask=joined)


def _floating_digit(body: list[tuple[str, int]], i: int) -> bool:
    """A ``+``, ``-`` or ``$`` stands for a digit when it repeats (a floating string), except the first."""
    symbol = body[i][0]
    first = next(j for j, (s, _) in enumerate(body) if s == symbol)
    return i > first
