"""Decode and encode ONE elementary field value: the reference semantics of every field kind.

Values are ``str`` for text, ``int`` for numbers without a fraction, ``Decimal`` (exponent exactly
``-scale``) for numbers with one, and ``float`` only for COMP-1/COMP-2. Money never passes through a
binary float here: an encoder given a ``float`` converts it through its shortest decimal representation,
and fraction digits that do not fit the PICTURE are an error unless the caller asks for rounding.

>>> from adapters.codecs.copybook.parser import parse_copybook
>>> from adapters.codecs.copybook.codepages import get_codepage
>>> amount = parse_copybook("01 R. 05 AMT PIC S9(3)V99 COMP-3.").fields[0]
>>> cp = get_codepage("cp037")
>>> decode_field(amount, bytes.fromhex("03050C"), cp)
Decimal('30.50')
>>> encode_field(amount, Decimal("-1.5"), cp).hex()
'00150d'
"""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Literal

from adapters.codecs.copybook import numeric as num
from adapters.codecs.copybook.codepages import Codepage
from adapters.codecs.copybook.edited import decode_edited, digit_positions, encode_edited
from adapters.codecs.copybook.layout import Field, Kind, SignPosition, Usage
from adapters.codecs.errors import (
    EncodeOverflow,
    InvalidZonedData,
    RecordDecodeError,
    RecordEncodeError,
    UnmappableCharacter,
    UnrepresentableValue,
)

__all__ = ["Rounding", "Trim", "Value", "decode_field", "encode_field"]

Value = str | int | Decimal | float
Trim = Literal["right", "both", "none"]
Rounding = Literal["error", "half-even", "half-up"]
_PADDING = " \x00"


def decode_field(
    field: Field,
    data: bytes,
    codepage: Codepage,
    *,
    trim: Trim = "right",
    name: str | None = None,
    offset: int | None = None,
) -> Value:
    """The value of ``field`` held in ``data`` (exactly ``field.size`` bytes).

    ``name`` and ``offset`` locate the occurrence in error messages (default: the field's qualified name
    and offset). Raises a ``RecordDecodeError`` subclass carrying the field, offset and bytes.
    """
    try:
        return _DECODERS[field.kind](field, data, codepage, trim)
    except RecordDecodeError as exc:
        exc.field = name or field.qualified_name
        exc.offset = field.offset if offset is None else offset
        exc.data = exc.data or bytes(data)
        raise


def _trim(text: str, field: Field, trim: Trim) -> str:
    if trim == "none":
        return text
    if trim == "both":
        return text.strip(_PADDING)
    return text.lstrip(_PADDING) if field.justified else text.rstrip(_PADDING)


def _decode_text(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> str:
    try:
        text = data.decode("utf-16-be") if field.kind == Kind.NATIONAL else codepage.decode(data)
    except UnicodeDecodeError as exc:
        page = "UTF-16" if field.kind == Kind.NATIONAL else codepage.name
        raise UnmappableCharacter(
            f"bytes not valid in code page {page}",
            data=data[exc.start : exc.end],
            expected=f"text in {page}",
            found=f"byte {data[exc.start]:02X} at position {exc.start}",
        ) from exc
    return _trim(text, field, trim)


def _blank(data: bytes, codepage: Codepage) -> bool:
    return all(b == codepage.space for b in data)


def _decode_zoned(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> Value:
    if _blank(data, codepage):
        if field.blank_when_zero:
            return num.scaled(0, field.scale)
        raise InvalidZonedData("numeric field is blank", expected=f"{field.digits} digits", found="spaces")
    unscaled = num.decode_zoned(
        data,
        digits=field.digits,
        signed=field.signed,
        ebcdic=codepage.ebcdic,
        leading=field.sign_position == SignPosition.LEADING,
        separate=field.sign_separate,
    )
    return num.scaled(unscaled, field.scale)


def _decode_edited(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> Value:
    assert field.edit_mask is not None
    if field.blank_when_zero and _blank(data, codepage):
        return num.scaled(0, field.scale)
    raw = bytearray(data)
    negative = False
    if field.signed:  # S with an explicit point (S9(3).99): the sign is overpunched on a digit
        at = _sign_digit(field)
        punched = num.overpunched(data[at], codepage.ebcdic)
        if punched is None:
            raise InvalidZonedData(
                "not a digit with a sign overpunch", expected="a digit", found=f"{data[at]:02X} at byte {at}"
            )
        raw[at : at + 1] = codepage.encode(str(punched[0]))
        negative = punched[1]
    text = _decode_text(field, bytes(raw), codepage, "none")
    return num.scaled(decode_edited(text, field.edit_mask, overpunch_negative=negative), field.scale)


def _sign_digit(field: Field) -> int:
    """Byte index of the digit carrying an overpunched sign in a signed edited field."""
    assert field.edit_mask is not None
    positions = digit_positions(field.edit_mask)
    return positions[0] if field.sign_position == SignPosition.LEADING else positions[-1]


def _decode_packed(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> Value:
    return num.scaled(num.decode_packed(data, digits=field.digits, signed=field.signed), field.scale)


def _decode_binary(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> Value:
    unscaled = num.decode_binary(data, signed=field.signed, byte_order=field.byte_order)
    return num.scaled(unscaled, field.scale)


def _decode_float(field: Field, data: bytes, codepage: Codepage, trim: Trim) -> Value:
    if field.kind == Kind.FLOAT_IBM:
        return num.decode_ibm_float(data)
    return num.decode_ieee_float(data, field.byte_order)


_DECODERS = {
    Kind.ALNUM: _decode_text,
    Kind.NATIONAL: _decode_text,
    Kind.ZONED: _decode_zoned,
    Kind.EDITED: _decode_edited,
    Kind.PACKED: _decode_packed,
    Kind.BINARY: _decode_binary,
    Kind.FLOAT_IBM: _decode_float,
    Kind.FLOAT_IEEE: _decode_float,
}


def encode_field(
    field: Field,
    value: object,
    codepage: Codepage,
    *,
    zoned_sign: num.ZonedSign = "ascii",
    rounding: Rounding = "error",
    name: str | None = None,
) -> bytes:
    """The ``field.size`` bytes that hold ``value``. Never truncates: a value that does not fit raises
    ``EncodeOverflow``; a value of the wrong type, or text the code page cannot hold, raises
    ``UnrepresentableValue``. ``zoned_sign`` picks the ASCII overpunch convention (EBCDIC data always uses
    zones C/D); ``rounding`` allows rounding surplus fraction digits instead of rejecting them."""
    try:
        if field.kind in (Kind.ALNUM, Kind.NATIONAL):
            return _encode_text(field, value, codepage)
        if field.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
            return _encode_float(field, value)
        return _encode_decimal(field, _unscaled(field, value, rounding), codepage, zoned_sign)
    except RecordEncodeError as exc:
        exc.field = name or field.qualified_name
        exc.offset = field.offset
        exc.value = value
        raise


def _encode_text(field: Field, value: object, codepage: Codepage) -> bytes:
    if not isinstance(value, str):
        raise UnrepresentableValue(
            "text field needs a string", expected="a string", found=type(value).__name__
        )
    national = field.kind == Kind.NATIONAL
    try:
        data = value.encode("utf-16-be") if national else codepage.encode(value)
    except UnicodeEncodeError as exc:
        page = "UTF-16" if national else codepage.name
        raise UnrepresentableValue(
            f"character not in code page {page}", found=f"{value[exc.start]!r} at position {exc.start}"
        ) from exc
    if len(data) > field.size:
        raise EncodeOverflow(
            "text is too long for the field",
            expected=f"at most {field.size} bytes",
            found=f"{len(data)} bytes",
        )
    pad = ("\u0020".encode("utf-16-be") if national else codepage.encode(" ")) * field.size
    return pad[: field.size - len(data)] + data if field.justified else data + pad[: field.size - len(data)]


def _encode_float(field: Field, value: object) -> bytes:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise UnrepresentableValue("floating-point field needs a number", found=type(value).__name__)
    try:
        if field.kind == Kind.FLOAT_IBM:
            return num.encode_ibm_float(float(value), field.size)
        return num.encode_ieee_float(float(value), field.size, field.byte_order)
    except OverflowError as exc:
        raise EncodeOverflow("value is beyond the floating-point range", found=repr(value)) from exc
    except ValueError as exc:
        raise UnrepresentableValue(str(exc), found=repr(value)) from exc


def _unscaled(field: Field, value: object, rounding: Rounding) -> int:
    """``value`` as the integer of stored digits (``value * 10 ** scale``), exactly or rounded on request."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        raise UnrepresentableValue(
            "numeric field needs a number", expected="a number", found=type(value).__name__
        )
    exact = _exact(value)
    if not exact.is_finite():
        raise UnrepresentableValue("numeric field needs a finite number", found=str(exact))
    sign, digits, exponent = exact.as_tuple()
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + field.scale
    if shift >= 0:
        unscaled = magnitude * 10**shift
    else:
        unscaled, rest = divmod(magnitude, 10**-shift)
        if rest and rounding == "error":
            raise EncodeOverflow(
                "value has more decimal places than the PICTURE",
                expected=f"at most {max(field.scale, 0)} decimal places" + _places(field),
                found=str(value),
            )
        half = 10**-shift
        if 2 * rest > half or (2 * rest == half and (rounding == "half-up" or unscaled % 2)):
            unscaled += 1
    return int(-unscaled if sign else unscaled)


def _exact(value: numbers.Real | Decimal) -> Decimal:
    """An exact decimal for a number; a binary float goes through its shortest round-tripping text."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    text = repr(value) if isinstance(value, float) else str(value)  # numpy float32 prints its shortest form
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal(repr(float(value)))


def _places(field: Field) -> str:
    return f" in multiples of {10**-field.scale}" if field.scale < 0 else ""


def _encode_decimal(field: Field, unscaled: int, codepage: Codepage, zoned_sign: num.ZonedSign) -> bytes:
    _check_fits(field, unscaled)
    if field.kind == Kind.PACKED:
        return num.encode_packed(unscaled, digits=field.digits, signed=field.signed)
    if field.kind == Kind.BINARY:
        return num.encode_binary(unscaled, size=field.size, signed=field.signed, byte_order=field.byte_order)
    if field.blank_when_zero and unscaled == 0:
        return codepage.encode(" ") * field.size
    if field.kind == Kind.EDITED:
        return _encode_edited(field, unscaled, codepage, zoned_sign)
    return num.encode_zoned(
        unscaled,
        digits=field.digits,
        signed=field.signed,
        ebcdic=codepage.ebcdic,
        leading=field.sign_position == SignPosition.LEADING,
        separate=field.sign_separate,
        zoned_sign=zoned_sign,
    )


def _check_fits(field: Field, unscaled: int) -> None:
    negative_allowed = field.signed or (field.kind == Kind.EDITED and _edit_sign(field))
    if unscaled < 0 and not negative_allowed:
        raise UnrepresentableValue(
            "negative value for an unsigned field", expected="a value >= 0", found=str(unscaled)
        )
    if field.usage == Usage.NATIVE_BINARY:
        bits = field.size * 8 - (1 if field.signed else 0)
        if not -(1 << bits) <= unscaled < (1 << bits):
            raise EncodeOverflow(
                "value does not fit the binary field",
                expected=f"{field.size}-byte binary",
                found=str(unscaled),
            )
    elif abs(unscaled) >= 10**field.digits:
        raise EncodeOverflow(
            "value does not fit the PICTURE",
            expected=f"at most {field.digits} digits (PIC {field.picture})",
            found=f"{len(str(abs(unscaled)))} digits",
        )


def _edit_sign(field: Field) -> bool:
    mask = field.edit_mask or ""
    return any(symbol in mask for symbol in "+-cd")


def _encode_edited(field: Field, unscaled: int, codepage: Codepage, zoned_sign: num.ZonedSign) -> bytes:
    assert field.edit_mask is not None
    text = encode_edited(unscaled if not field.signed else abs(unscaled), field.edit_mask, scale=field.scale)
    data = bytearray(codepage.encode(text))
    if field.signed:
        at = _sign_digit(field)
        digit = data[at] - (0xF0 if codepage.ebcdic else 0x30)
        data[at] = num.overpunch(digit, unscaled < 0, ebcdic=codepage.ebcdic, zoned_sign=zoned_sign)
    return bytes(data)
