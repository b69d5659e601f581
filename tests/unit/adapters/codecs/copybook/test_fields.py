"""One value per field kind: golden bytes both ways, and exact error messages for bad bytes and values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.codecs.copybook.codepages import Codepage, get_codepage
from adapters.codecs.copybook.fields import decode_field, encode_field
from adapters.codecs.copybook.layout import Field, LayoutOptions
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.errors import (
    EncodeOverflow,
    InvalidNumericData,
    InvalidPackedData,
    InvalidZonedData,
    UnmappableCharacter,
    UnrepresentableValue,
)


def field(clause: str, **options: object) -> Field:
    layout = parse_copybook(f"01 REC. 05 F {clause}.", LayoutOptions(**options))  # type: ignore[arg-type]
    return layout.fields[0]


CP037 = get_codepage("cp037")
ASCII = get_codepage("ascii")

GOLDEN = [
    # clause, code page, bytes (hex), value
    ("PIC X(5)", CP037, "c1c2c34040", "ABC"),
    ("PIC X(4) JUST RIGHT", CP037, "4040c1c2", "AB"),
    ("PIC N(3)", CP037, "00410308 0020".replace(" ", ""), "A\u0308"),
    ("PIC 9(4)", CP037, "f0f1f2f3", 123),
    ("PIC S9(3)V99", CP037, "f0f3f0f5c0", Decimal("30.50")),
    ("PIC S9(3)V99", CP037, "f0f3f0f5d0", Decimal("-30.50")),
    ("PIC S9(3) SIGN LEADING", CP037, "d1f2f3", -123),
    ("PIC S9(3) SIGN LEADING SEPARATE", CP037, "60f1f2f3", -123),
    ("PIC S9(3) SIGN TRAILING SEPARATE", CP037, "f1f2f34e", 123),
    ("PIC S9(3)", ASCII, "313273", -123),
    ("PIC S9(3) SIGN TRAILING SEPARATE", ASCII, "3132332d", -123),
    ("PIC S9(5)V99 COMP-3", CP037, "0012345d", Decimal("-123.45")),
    ("PIC 9(4) COMP-3", CP037, "01234f", 1234),
    ("PIC S9(4) COMP", CP037, "fb2e", -1234),
    ("PIC 9(9) BINARY", CP037, "075bcd15", 123456789),
    ("PIC S9(7)V99 COMP", CP037, "ffffff85", Decimal("-1.23")),
    ("PIC 9(5)PPP COMP-3", CP037, "12345f", 12345000),
    ("PIC SVPP9 COMP-3", CP037, "7d", Decimal("-0.007")),
    ("PIC ZZ,ZZ9.99-", CP037, "40f16bf2f3f44bf5f060", Decimal("-1234.50")),
    ("PIC +9(3)", CP037, "4ef0f4f2", 42),
    ("PIC 9(3) BLANK WHEN ZERO", CP037, "404040", 0),
    ("COMP-1", CP037, "c276a000", -118.625),
    ("COMP-2", CP037, "4110000000000000", 1.0),
]


@pytest.mark.parametrize(("clause", "page", "hexdata", "value"), GOLDEN)
def test_golden_bytes_decode_to_the_exact_value(
    clause: str, page: Codepage, hexdata: str, value: object
) -> None:
    decoded = decode_field(field(clause), bytes.fromhex(hexdata), page)
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, Decimal):
        assert str(decoded) == str(value)  # the exponent too: 30.50 stays 30.50


@pytest.mark.parametrize(("clause", "page", "hexdata", "value"), GOLDEN)
def test_golden_values_encode_to_the_same_bytes(
    clause: str, page: Codepage, hexdata: str, value: object
) -> None:
    assert encode_field(field(clause), value, page).hex() == hexdata


def test_comp5_uses_the_configured_byte_order() -> None:
    little = field("PIC S9(4) COMP-5", native_byte_order="little")
    assert decode_field(little, bytes.fromhex("2efb"), CP037) == -1234
    assert encode_field(little, 30000, CP037).hex() == "3075"


def test_comp5_holds_the_full_binary_range_while_comp_is_limited_by_its_digits() -> None:
    assert encode_field(field("PIC S9(4) COMP-5"), 32767, CP037).hex() == "7fff"
    with pytest.raises(EncodeOverflow, match=r"expected at most 4 digits \(PIC S9\(4\)\), found 5 digits"):
        encode_field(field("PIC S9(4) COMP"), 32767, CP037)


def test_ieee_floats_with_the_ieee_option() -> None:
    single = field("COMP-1", float_format="ieee")
    assert decode_field(single, bytes.fromhex("c2ed4000"), CP037) == -118.625
    assert encode_field(single, 1.5, CP037).hex() == "3fc00000"


def test_zoned_decoding_accepts_both_ascii_overpunch_conventions() -> None:
    signed = field("PIC S9(3)")
    assert decode_field(signed, b"12L", ASCII) == decode_field(signed, b"12s", ASCII) == -123
    assert decode_field(signed, b"12C", ASCII) == decode_field(signed, b"123", ASCII) == 123
    assert decode_field(signed, b"12}", ASCII) == decode_field(signed, b"12p", ASCII) == -120


@pytest.mark.parametrize(("convention", "expected"), [("ascii", b"12s"), ("ebcdic", b"12L")])
def test_zoned_encoding_follows_the_chosen_ascii_convention(convention: str, expected: bytes) -> None:
    assert encode_field(field("PIC S9(3)"), -123, ASCII, zoned_sign=convention) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("clause", "hexdata", "error", "message"),
    [
        ("PIC S9(3)V99 COMP-3", "12345b", None, None),
        ("PIC S9(3) COMP-3", "123b", None, None),
        (
            "PIC S9(3) COMP-3",
            "1237",
            InvalidPackedData,
            "field REC.F at offset 0, bytes 12 37: invalid packed decimal sign "
            "(expected sign nibble C, A, E, F (+) or B, D (-), found 7)",
        ),
        (
            "PIC S9(3) COMP-3",
            "1a3c",
            InvalidPackedData,
            "field REC.F at offset 0, bytes 1A 3C: invalid packed decimal digit "
            "(expected digit nibbles 0-9, found nibble A in byte 0)",
        ),
        (
            "PIC 9(3) COMP-3",
            "123d",
            InvalidPackedData,
            "field REC.F at offset 0, bytes 12 3D: negative sign in an unsigned field "
            "(expected sign nibble F, C, A or E, found D)",
        ),
        (
            "PIC S9(4) COMP-3",
            "10234c",
            InvalidPackedData,
            "field REC.F at offset 0, bytes 10 23 4C: value has more digits than the PICTURE "
            "(expected 4 digits (first nibble 0), found nibble 1 in byte 0)",
        ),
        (
            "PIC S9(3)",
            "f1c1f3",
            InvalidZonedData,
            "field REC.F at offset 0, bytes F1 C1 F3: not a zoned decimal digit (expected F0-F9, found C1 "
            "at byte 1)",
        ),
        (
            "PIC 9(3)",
            "f1f2d3",
            InvalidZonedData,
            "field REC.F at offset 0, bytes F1 F2 D3: sign in an unsigned field (expected digits only, "
            "found D3)",
        ),
        (
            "PIC 9(3)",
            "404040",
            InvalidZonedData,
            "field REC.F at offset 0, bytes 40 40 40: numeric field is blank (expected 3 digits, found "
            "spaces)",
        ),
        (
            "PIC S9(3) SIGN LEADING SEPARATE",
            "f0f1f2f3",
            InvalidZonedData,
            "field REC.F at offset 0, bytes F0 F1 F2 F3: invalid separate sign (expected '+' or '-' as the "
            "first byte, "
            "found F0)",
        ),
        (
            "PIC 9(3).99",
            "f1f2f34bc1f0",
            InvalidNumericData,
            "field REC.F at offset 0, bytes F1 F2 F3 4B C1 F0: invalid numeric-edited text "
            "(expected a digit at position 4, found 'A')",
        ),
    ],
)
def test_bad_numeric_bytes_raise_errors_naming_field_offset_and_bytes(
    clause: str, hexdata: str, error: type[Exception] | None, message: str | None
) -> None:
    if error is None:  # the positive control: these are valid
        decode_field(field(clause), bytes.fromhex(hexdata), CP037)
        return
    with pytest.raises(error) as caught:
        decode_field(field(clause), bytes.fromhex(hexdata), CP037)
    assert str(caught.value) == message


def test_invalid_utf8_text_is_an_unmappable_character_error() -> None:
    with pytest.raises(UnmappableCharacter) as caught:
        decode_field(field("PIC X(4)"), b"AB\xffC", get_codepage("utf-8"), name="REC.F[2]", offset=14)
    assert str(caught.value) == (
        "field REC.F[2] at offset 14, bytes FF: bytes not valid in code page utf-8 "
        "(expected text in utf-8, found byte FF at position 2)"
    )


@pytest.mark.parametrize(
    ("clause", "value", "error", "message"),
    [
        (
            "PIC S9(3)V99 COMP-3",
            Decimal("1000"),
            EncodeOverflow,
            "field REC.F at offset 0: value does not fit the PICTURE (expected at most 5 digits (PIC "
            "S9(3)V99), "
            "found 6 digits)",
        ),
        (
            "PIC S9(3)V99 COMP-3",
            Decimal("1.005"),
            EncodeOverflow,
            "field REC.F at offset 0: value has more decimal places than the PICTURE (expected at most 2 "
            "decimal "
            "places, found 1.005)",
        ),
        (
            "PIC 9(3)",
            -1,
            UnrepresentableValue,
            "field REC.F at offset 0: negative value for an unsigned field (expected a value >= 0, found -1)",
        ),
        (
            "PIC X(3)",
            "ABCD",
            EncodeOverflow,
            "field REC.F at offset 0: text is too long for the field (expected at most 3 bytes, found 4 "
            "bytes)",
        ),
        (
            "PIC X(3)",
            12,
            UnrepresentableValue,
            "field REC.F at offset 0: text field needs a string (expected a string, found int)",
        ),
        (
            "PIC 9(3)",
            "12",
            UnrepresentableValue,
            "field REC.F at offset 0: numeric field needs a number (expected a number, found str)",
        ),
        (
            "PIC 9(3)",
            True,
            UnrepresentableValue,
            "field REC.F at offset 0: numeric field needs a number (expected a number, found bool)",
        ),
        ("PIC X(3)", "€", UnrepresentableValue, None),
        (
            "COMP-1",
            1e300,
            EncodeOverflow,
            "field REC.F at offset 0: value is beyond the floating-point range",
        ),
        (
            "PIC 9(2)PP",
            150,
            EncodeOverflow,
            "field REC.F at offset 0: value has more decimal places than the PICTURE (expected at most 0 "
            "decimal "
            "places in multiples of 100, found 150)",
        ),
    ],
)
def test_values_that_do_not_fit_are_errors_never_truncated(
    clause: str, value: object, error: type[Exception], message: str | None
) -> None:
    with pytest.raises(error) as caught:
        encode_field(field(clause), value, CP037)
    if message is not None:
        assert str(caught.value).startswith(message)


def test_rounding_is_only_applied_when_asked_for() -> None:
    amount = field("PIC S9(3)V99 COMP-3")
    assert decode_field(amount, encode_field(amount, 1.005, CP037, rounding="half-up"), CP037) == Decimal(
        "1.01"
    )
    assert decode_field(
        amount, encode_field(amount, Decimal("1.005"), CP037, rounding="half-even"), CP037
    ) == Decimal("1.00")


def test_binary_floats_are_encoded_through_their_shortest_decimal_text() -> None:
    amount = field("PIC S9(3)V99 COMP-3")
    assert encode_field(amount, 0.1 + 0.2 - 0.00000000000000004, CP037).hex() == "00030c"
    with pytest.raises(EncodeOverflow):
        encode_field(amount, 0.1 + 0.2, CP037)  # 0.30000000000000004 has more than 2 decimal places


def test_edited_zero_with_only_suppressing_positions_prints_blank_and_reads_back_as_zero() -> None:
    edited = field("PIC ZZZ.ZZ")
    assert encode_field(edited, 0, CP037) == b"\x40" * 6
    assert decode_field(edited, b"\x40" * 6, CP037) == 0


def test_ibm_hex_float_round_trips_to_the_nearest_representable_value() -> None:
    double = field("COMP-2")
    assert decode_field(double, encode_field(double, 0.1, CP037), CP037) == 0.1
    assert encode_field(double, -0.0, CP037) == bytes(8)
