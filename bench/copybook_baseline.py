"""The baseline of ``bench/copybook.py``: a per-record, per-field decoder written the way in-house scripts do.

The layout is hand-copied from the copybook (``TXN-REC`` in ``bench/copybook.py``) as a table of
offsets; every record is sliced field by field: text through ``codecs.decode`` (cp037), packed decimals
through ``bytes.hex()``, zoned decimals through their low nibbles and the sign zone of the last byte,
binary through ``int.from_bytes``. Values are what the reference decoder gives: ``str`` without trailing
blanks, ``int``, or ``Decimal`` with the picture's decimal places. No validation: a script like this
trusts its input.
"""

from __future__ import annotations

import codecs
from decimal import Decimal
from typing import Any

# name, offset, bytes, kind, decimal places, occurrences
FIELDS: tuple[tuple[str, int, int, str, int, int], ...] = (
    ("TXN-ID", 0, 12, "text", 0, 1),
    ("ACCOUNT-NO", 12, 10, "zoned", 0, 1),
    ("CUSTOMER-NAME", 22, 30, "text", 0, 1),
    ("BRANCH", 52, 2, "binary", 0, 1),
    ("SEQ-NO", 54, 4, "binary", 0, 1),
    ("REF-NO", 58, 8, "binary", 0, 1),
    ("AMOUNT", 66, 6, "packed", 2, 1),
    ("BALANCE", 72, 13, "zoned", 2, 1),
    ("FEE", 85, 7, "zoned", 2, 1),
    ("QTY", 92, 4, "packed", 0, 1),
    ("RATE", 96, 4, "packed", 4, 1),
    ("CURRENCY", 100, 3, "text", 0, 1),
    ("DESCRIPTION", 103, 40, "text", 0, 1),
    ("MONTHLY", 143, 5, "packed", 2, 6),
    ("STATUS-CODE", 173, 1, "text", 0, 1),
    ("POST-DATE", 174, 8, "zoned", 0, 1),
    ("BRANCH-CODE", 182, 6, "text", 0, 1),
    ("TAX", 188, 5, "packed", 2, 1),
    ("CHANNEL", 193, 7, "text", 0, 1),
)
RECORD_LENGTH = 200


def packed(raw: bytes, scale: int) -> int | Decimal:
    digits = raw.hex()
    value = int(digits[:-1])
    if digits[-1] in "bd":
        value = -value
    return Decimal(value).scaleb(-scale) if scale else value


def zoned(raw: bytes, scale: int) -> int | Decimal:
    value = int("".join(str(b & 0x0F) for b in raw))
    if raw[-1] >> 4 == 0x0D:
        value = -value
    return Decimal(value).scaleb(-scale) if scale else value


def binary(raw: bytes, scale: int) -> int | Decimal:
    value = int.from_bytes(raw, "big", signed=True)
    return Decimal(value).scaleb(-scale) if scale else value


def text(raw: bytes, scale: int) -> str:
    return codecs.decode(raw, "cp037").rstrip(" \x00")


KINDS = {"packed": packed, "zoned": zoned, "binary": binary, "text": text}


def decode_record(record: bytes) -> dict[str, Any]:
    """One record's values by field name (a list for an OCCURS field)."""
    out: dict[str, Any] = {}
    for name, offset, size, kind, scale, occurs in FIELDS:
        convert = KINDS[kind]
        if occurs == 1:
            out[name] = convert(record[offset : offset + size], scale)
        else:
            out[name] = [
                convert(record[offset + i * size : offset + (i + 1) * size], scale) for i in range(occurs)
            ]
    return out


def decode_file(data: bytes) -> list[dict[str, Any]]:
    """Every record of ``data`` (fixed-length records back to back), in order."""
    return [decode_record(data[i : i + RECORD_LENGTH]) for i in range(0, len(data), RECORD_LENGTH)]
