"""Numeric-edited DISPLAY fields (``ZZ,ZZ9.99-``, ``+9(8)``, ``$$$9.99``, ``9(6).99CR``), one value at a time.

Decoding reads the text position by position against the field's edit mask (see ``picture``): digit
positions (``9``, ``Z``, ``*`` and the repeated symbols of a floating ``+``, ``-`` or ``$`` string) give the
digits, with spaces or ``*`` standing for suppressed leading zeros; ``+``, ``-``, ``CR`` and ``DB`` give the
sign; insertion characters (``.`` ``,`` ``B`` ``0`` ``/``) are skipped. Encoding writes the value the way a
COBOL MOVE to the edited item would, including zero suppression and floating insertion.

>>> decode_edited(" 1,234.50-", "ZZ,ZZ9.99-")
-123450
>>> encode_edited(-123450, "ZZ,ZZ9.99-", scale=2)
' 1,234.50-'
>>> encode_edited(5, "$$$9.99", scale=2)
'  $0.05'
"""

from __future__ import annotations

from adapters.codecs.errors import InvalidNumericData

__all__ = ["decode_edited", "digit_positions", "encode_edited"]

_INSERTIONS = frozenset(".,B0/")
_FLOATING = frozenset("+-$")


def digit_positions(mask: str) -> list[int]:
    """Indexes of the mask that hold a digit (floating strings: every symbol after the first)."""
    out = []
    for i, symbol in enumerate(mask):
        if symbol in "9Z*" or (symbol in _FLOATING and mask.index(symbol) < i):
            out.append(i)
    return out


def decode_edited(text: str, mask: str, *, overpunch_negative: bool = False) -> int:
    """Unscaled value of an edited field's text. Raises ``InvalidNumericData`` naming the position."""
    digit_at = set(digit_positions(mask))
    digits: list[str] = []
    negative = overpunch_negative
    for i, (char, symbol) in enumerate(zip(text, mask, strict=True)):
        if i in digit_at:
            if char.isdigit() and char.isascii():
                digits.append(char)
            elif char in " *" + symbol or (symbol in "+-" and char in "+-"):
                digits.append("0")  # a suppressed zero, or where a floating sign or $ landed
                negative = negative or char == "-"
            else:
                raise _bad(i, char, "a digit" if symbol == "9" else "a digit or a space")
        elif symbol in "+-":
            if char not in "+- ":
                raise _bad(i, char, "'+', '-' or a space")
            negative = negative or char == "-"
        elif symbol in "cd":
            pair = text[i : i + 2]
            letters = "CR" if symbol == "c" else "DB"
            if pair not in ("  ", letters):
                raise _bad(i, pair, f"'{letters}' or spaces")
            negative = negative or pair != "  "
        elif symbol in "rb":
            continue  # second letter of CR / DB, checked with the first
        elif char not in (" ", "*", " " if symbol == "B" else symbol):
            raise _bad(i, char, "a space" if symbol == "B" else f"{symbol!r} or a space")
    value = int("".join(digits)) if digits else 0
    return -value if negative else value


def _bad(position: int, found: str, expected: str) -> InvalidNumericData:
    return InvalidNumericData(
        "invalid numeric-edited text", expected=f"{expected} at position {position}", found=repr(found)
    )


def encode_edited(unscaled: int, mask: str, *, scale: int) -> str:
    """The edited text of a value (the caller has checked that it fits and that a negative one has a sign)."""
    positions = digit_positions(mask)
    digits = str(abs(unscaled)).rjust(len(positions), "0")
    point = len(positions) - scale  # digit positions left of the decimal point
    first_significant = next((k for k, d in enumerate(digits) if d != "0"), len(digits))
    first_nine = next((k for k, i in enumerate(positions) if mask[i] == "9"), len(positions))
    keep_from = min(first_significant, first_nine, point)  # digits from here on are printed
    if unscaled == 0 and first_nine == len(positions) and "*" not in mask:
        return " " * len(mask)  # all positions suppress zeros: zero prints as blanks
    out = list(mask)
    fill = "*" if "*" in mask else " "
    started = False
    for k, i in enumerate(positions):
        started = started or k >= keep_from
        out[i] = digits[k] if started else fill
    _insertions(out, mask, positions, keep_from, fill)
    _signs(out, mask, unscaled < 0, positions, keep_from)
    return "".join(out)


def _insertions(out: list[str], mask: str, positions: list[int], keep_from: int, fill: str) -> None:
    """Insertion characters left of the first printed digit are suppressed like the digits."""
    first_printed = positions[keep_from] if keep_from < len(positions) else len(mask)
    for i, symbol in enumerate(mask):
        if symbol in _INSERTIONS:
            suppressed = i < first_printed and symbol != "."
            out[i] = fill if suppressed else (" " if symbol == "B" else symbol)


def _signs(out: list[str], mask: str, negative: bool, positions: list[int], keep_from: int) -> None:
    first_printed = positions[keep_from] if keep_from < len(positions) else len(mask)
    for symbol in set(mask) & _FLOATING:
        first = mask.index(symbol)
        char = {"+": "-" if negative else "+", "-": "-" if negative else " ", "$": "$"}[symbol]
        if mask.count(symbol) == 1:
            out[first] = char
            continue
        # Floating string: the symbol lands just left of the first printed digit, blanks before it.
        floating = [
            i for i, s in enumerate(mask) if s == symbol or (s in _INSERTIONS and first < i < first_printed)
        ]
        slot = max((i for i in floating if i < first_printed), default=first)
        for i in floating:
            if i < slot:
                out[i] = " "
        out[slot] = char
    for code, text in (("c", "CR"), ("d", "DB")):
        at = mask.find(code)
        if at >= 0:
            out[at : at + 2] = list(text if negative else "  ")
