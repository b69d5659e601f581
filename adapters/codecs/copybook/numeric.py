"""Numeric storage formats, one value at a time: zoned, packed, binary and floating point.

Every function works on the field's own bytes and returns (or takes) the *unscaled* integer: the digits as
stored, without the decimal point (``PIC S9(3)V99`` holding -12.34 is -1234). ``scaled`` and ``unscale``
convert to and from exact values. Errors are raised as ``RecordDecodeError`` subclasses without a location;
``fields.py`` adds the field path and offset.

Zoned sign conventions (the overpunched byte carries a digit and the sign):

* EBCDIC: zone ``F`` unsigned, ``C`` (also ``A``, ``E``) positive, ``D`` (also ``B``) negative.
* ASCII, ``ascii`` convention (GnuCOBOL, Micro Focus): ``0``-``9`` positive, ``p``-``y`` negative.
* ASCII, ``ebcdic`` convention (EBCDIC text translated to ASCII): ``{``, ``A``-``I`` positive (0-9),
  ``}``, ``J``-``R`` negative (0-9). Decoding accepts both ASCII conventions.

>>> decode_packed(bytes.fromhex("01234D"), digits=5, signed=True)
-1234
>>> decode_zoned(bytes.fromhex("F1F2D3"), digits=3, signed=True, ebcdic=True)
-123
>>> [decode_zoned(text, digits=3, signed=True, ebcdic=False) for text in (b"12s", b"12L", b"123")]
[-123, -123, 123]
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from typing import Literal

from adapters.codecs.errors import InvalidNumericData, InvalidPackedData, InvalidZonedData

__all__ = [
    "decode_binary",
    "decode_ibm_float",
    "decode_ieee_float",
    "decode_packed",
    "decode_zoned",
    "encode_binary",
    "encode_ibm_float",
    "encode_ieee_float",
    "encode_packed",
    "encode_zoned",
    "overpunch",
    "overpunched",
    "scaled",
]

ZonedSign = Literal["ebcdic", "ascii"]
_POSITIVE_NIBBLES = frozenset((0xA, 0xC, 0xE, 0xF))
_NEGATIVE_NIBBLES = frozenset((0xB, 0xD))
_SIGNS = "C, A, E, F (+) or B, D (-)"


def scaled(unscaled: int, scale: int) -> int | Decimal:
    """The exact value of stored digits: an ``int`` when there is no fraction, else a ``Decimal`` whose
    exponent is exactly ``-scale`` (``scaled(3050, 2)`` is ``Decimal('30.50')``)."""
    if scale <= 0:
        return int(unscaled * 10**-scale)
    return Decimal(f"{unscaled}E-{scale}")


def _ascii_overpunch() -> dict[int, tuple[int, bool]]:
    table = {0x30 + d: (d, False) for d in range(10)}
    table |= {0x70 + d: (d, True) for d in range(10)}  # 'p'..'y'
    table |= {ord("{"): (0, False), ord("}"): (0, True)}
    table |= {ord("A") + d: (d + 1, False) for d in range(9)}
    table |= {ord("J") + d: (d + 1, True) for d in range(9)}
    return table


_ASCII_OVERPUNCH = _ascii_overpunch()


def overpunched(byte: int, ebcdic: bool) -> tuple[int, bool] | None:
    """(digit, negative) of a sign-carrying digit byte (a plain digit is positive), or None if not one."""
    if not ebcdic:
        return _ASCII_OVERPUNCH.get(byte)
    zone, digit = byte >> 4, byte & 0xF
    if digit > 9 or zone not in _POSITIVE_NIBBLES | _NEGATIVE_NIBBLES:
        return None
    return digit, zone in _NEGATIVE_NIBBLES


def decode_zoned(
    data: bytes,
    *,
    digits: int,
    signed: bool,
    ebcdic: bool,
    leading: bool = False,
    separate: bool = False,
) -> int:
    """Unscaled value of a zoned decimal. Raises ``InvalidZonedData`` saying which byte is wrong."""
    zero = 0xF0 if ebcdic else 0x30
    body = data
    negative = False
    if signed and separate:
        sign_byte, body = (data[0], data[1:]) if leading else (data[-1], data[:-1])
        plus, minus = (0x4E, 0x60) if ebcdic else (0x2B, 0x2D)
        if sign_byte not in (plus, minus):
            where = "first" if leading else "last"
            raise InvalidZonedData(
                "invalid separate sign", expected=f"'+' or '-' as the {where} byte", found=f"{sign_byte:02X}"
            )
        negative = sign_byte == minus
    value = 0
    sign_at = -1 if not signed or separate else (0 if leading else len(body) - 1)
    for i, byte in enumerate(body):
        digit = byte - zero
        if not 0 <= digit <= 9:
            punched = (
                overpunched(byte, ebcdic) if i == sign_at or (not signed and i == len(body) - 1) else None
            )
            if punched is None:
                raise InvalidZonedData(
                    "not a zoned decimal digit",
                    expected=f"{zero:02X}-{zero + 9:02X}" + (" or a sign overpunch" if i == sign_at else ""),
                    found=f"{byte:02X} at byte {i + (1 if signed and separate and leading else 0)}",
                )
            digit, punched_negative = punched
            if not signed and (punched_negative or not ebcdic):
                raise InvalidZonedData(
                    "sign in an unsigned field", expected="digits only", found=f"{byte:02X}"
                )
            negative = negative or punched_negative
        value = value * 10 + digit
    return -value if negative else value


def encode_zoned(
    unscaled: int,
    *,
    digits: int,
    signed: bool,
    ebcdic: bool,
    leading: bool = False,
    separate: bool = False,
    zoned_sign: ZonedSign = "ascii",
) -> bytes:
    """Bytes of a zoned decimal; the caller has checked that ``unscaled`` fits ``digits``."""
    zero = 0xF0 if ebcdic else 0x30
    out = bytearray(zero + int(c) for c in str(abs(unscaled)).rjust(digits, "0"))
    negative = unscaled < 0
    if signed and separate:
        sign = (0x60 if negative else 0x4E) if ebcdic else (0x2D if negative else 0x2B)
        return bytes([sign]) + bytes(out) if leading else bytes(out) + bytes([sign])
    if signed:
        at = 0 if leading else digits - 1
        out[at] = overpunch(out[at] - zero, negative, ebcdic=ebcdic, zoned_sign=zoned_sign)
    return bytes(out)


def overpunch(digit: int, negative: bool, *, ebcdic: bool, zoned_sign: ZonedSign = "ascii") -> int:
    """The byte carrying ``digit`` and the sign: zone C/D in EBCDIC, else the chosen ASCII convention."""
    if ebcdic:
        return (0xD0 if negative else 0xC0) | digit
    if zoned_sign == "ascii":
        return (0x70 if negative else 0x30) + digit
    return ord(("}JKLMNOPQR" if negative else "{ABCDEFGHI")[digit])


def decode_packed(data: bytes, *, digits: int, signed: bool) -> int:
    """Unscaled value of a packed decimal (COMP-3), strictly: digit nibbles 0-9, a known sign nibble."""
    value = 0
    nibbles = [n for byte in data for n in (byte >> 4, byte & 0xF)]
    sign = nibbles.pop()
    if len(nibbles) > digits and nibbles[0] != 0:
        raise InvalidPackedData(
            "value has more digits than the PICTURE",
            expected=f"{digits} digits (first nibble 0)",
            found=f"nibble {nibbles[0]:X} in byte 0",
        )
    for i, nibble in enumerate(nibbles):
        if nibble > 9:
            raise InvalidPackedData(
                "invalid packed decimal digit",
                expected="digit nibbles 0-9",
                found=f"nibble {nibble:X} in byte {(i // 2)}",
            )
        value = value * 10 + nibble
    if sign in _NEGATIVE_NIBBLES:
        if not signed:
            raise InvalidPackedData(
                "negative sign in an unsigned field", expected="sign nibble F, C, A or E", found=f"{sign:X}"
            )
        return -value
    if sign not in _POSITIVE_NIBBLES:
        raise InvalidPackedData(
            "invalid packed decimal sign", expected=f"sign nibble {_SIGNS}", found=f"{sign:X}"
        )
    return value


def encode_packed(unscaled: int, *, digits: int, signed: bool) -> bytes:
    """Packed bytes: sign nibble C (+) or D (-) when signed, F when unsigned."""
    size = digits // 2 + 1
    sign = (0xD if unscaled < 0 else 0xC) if signed else 0xF
    text = str(abs(unscaled)).rjust(size * 2 - 1, "0")
    return bytes.fromhex(text + f"{sign:X}")


def decode_binary(data: bytes, *, signed: bool, byte_order: Literal["big", "little"]) -> int:
    """Two's complement (signed) or unsigned binary. The PICTURE's digits are not checked (TRUNC(BIN))."""
    return int.from_bytes(data, byte_order, signed=signed)


def encode_binary(unscaled: int, *, size: int, signed: bool, byte_order: Literal["big", "little"]) -> bytes:
    """Binary bytes; raises ``OverflowError`` when the value does not fit the storage."""
    return unscaled.to_bytes(size, byte_order, signed=signed)


def decode_ibm_float(data: bytes) -> float:
    """IBM System/360 hexadecimal floating point (4 or 8 bytes, big-endian) as the nearest Python float."""
    bits = len(data) * 8 - 8
    word = int.from_bytes(data, "big")
    sign = -1.0 if word >> (bits + 7) else 1.0
    exponent = (word >> bits) & 0x7F
    fraction = word & ((1 << bits) - 1)
    return sign * math.ldexp(fraction, 4 * (exponent - 64) - bits)


def encode_ibm_float(value: float, size: int) -> bytes:
    """IBM hexadecimal float, rounded to nearest; raises ``OverflowError`` beyond about 7.2e75."""
    if not math.isfinite(value):
        raise ValueError("infinity and NaN have no IBM hexadecimal floating-point form")
    bits = size * 8 - 8
    if value == 0:
        return bytes(size)
    mantissa, exp2 = math.frexp(abs(value))
    exponent = -(-exp2 // 4)  # value = fraction * 16 ** exponent with 1/16 <= fraction < 1
    fraction = round(math.ldexp(mantissa, exp2 - 4 * exponent + bits))
    if fraction >> bits:
        fraction >>= 4
        exponent += 1
    if exponent + 64 > 127:
        raise OverflowError(f"{value!r} exceeds the IBM hexadecimal floating-point range")
    if exponent + 64 < 0:
        return bytes(size)  # below the smallest IBM float: hardware flushes to zero as well
    word = ((1 if value < 0 else 0) << (bits + 7)) | ((exponent + 64) << bits) | fraction
    return word.to_bytes(size, "big")


def decode_ieee_float(data: bytes, byte_order: Literal["big", "little"]) -> float:
    """IEEE 754 binary32 or binary64. NaN and infinity are not data a record can carry: an error."""
    value = float(
        struct.unpack((">" if byte_order == "big" else "<") + ("f" if len(data) == 4 else "d"), data)[0]
    )
    if not math.isfinite(value):
        raise InvalidNumericData(
            "floating-point value is not finite", expected="a finite number", found=str(value)
        )
    return value


def encode_ieee_float(value: float, size: int, byte_order: Literal["big", "little"]) -> bytes:
    """IEEE bytes; raises ``OverflowError`` when a COMP-1 value is beyond binary32's range."""
    if not math.isfinite(value):
        raise ValueError("infinity and NaN cannot be written to a record")
    return struct.pack((">" if byte_order == "big" else "<") + ("f" if size == 4 else "d"), value)
