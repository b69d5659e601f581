"""The block codec's kernels against the reference field codec, exhaustively where the space is small.

Every byte value in the sign position of a zoned field, every sign and digit nibble of a packed field,
every byte of every supported code page, the digit-count boundaries of the SWAR arithmetic (8, 16 and 18
digits, 19 and more as Python ints), and IBM floats at the edges of their range.
"""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import numpy as np
import pytest

from adapters.codecs.copybook.codepages import get_codepage
from adapters.codecs.copybook.compiled import compile_layout
from adapters.codecs.copybook.fields import decode_field, encode_field
from adapters.codecs.copybook.layout import LayoutOptions
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.plans import unscale
from adapters.codecs.errors import InvalidPackedData, InvalidZonedData, RecordDecodeError

PAGES = ["cp037", "cp1047", "cp500", "cp273", "cp1140", "ascii", "latin-1", "utf-8"]
ZONED = [
    "PIC 9(3)",
    "PIC S9(3)",
    "PIC S9(3) SIGN LEADING",
    "PIC S9(3) SIGN TRAILING SEPARATE",
    "PIC S9(3) SIGN LEADING SEPARATE",
]


def _field_results(clause: str, page_name: str, data: list[bytes], trim: str = "right") -> list[object]:
    """What the block path decodes for each byte string (a value, or the error class)."""
    layout = parse_copybook(f"01 R. 05 F {clause}.")
    page = get_codepage(page_name)
    columns = compile_layout(layout, decode=DecodeOptions(codepage=page, trim=trim)).decode(b"".join(data))
    errors = {e.record: type(e) for e in columns.errors()}
    out: list[object] = []
    for i, record in enumerate(columns.records()):
        out.append(errors.get(i + 1) or record["F"])
    return out


def _reference_results(clause: str, page_name: str, data: list[bytes], trim: str = "right") -> list[object]:
    field = parse_copybook(f"01 R. 05 F {clause}.").fields[0]
    out: list[object] = []
    for raw in data:
        try:
            out.append(decode_field(field, raw, get_codepage(page_name), trim=trim))  # type: ignore[arg-type]
        except RecordDecodeError as exc:
            out.append(type(exc))
    return out


@pytest.mark.parametrize("page", ["cp037", "ascii"])
@pytest.mark.parametrize("clause", ZONED)
def test_zoned_fields_judge_every_byte_in_every_position_like_the_reference(clause: str, page: str) -> None:
    size = parse_copybook(f"01 R. 05 F {clause}.").fields[0].size
    digit = get_codepage(page).encode("7")
    data = []
    for position, byte in itertools.product(range(size), range(256)):
        raw = bytearray(digit * size)
        if "SEPARATE" in clause:
            raw[0 if "LEADING" in clause else size - 1] = ord(get_codepage(page).encode("-"))
        raw[position] = byte
        data.append(bytes(raw))
    assert _field_results(clause, page, data) == _reference_results(clause, page, data)


@pytest.mark.parametrize(
    "clause", ["PIC S9(3) COMP-3", "PIC 9(3) COMP-3", "PIC S9(2) COMP-3", "PIC 9(4) COMP-3"]
)
def test_packed_kernel_judges_every_two_byte_pattern_like_the_reference(clause: str) -> None:
    layout = parse_copybook(f"01 R. 05 F {clause}.")
    field = layout.fields[0]
    page = get_codepage("cp037")
    codec = compile_layout(layout)
    rows = np.zeros((65536, codec.pad + field.size), dtype=np.uint8)  # tiny records: kernels read padded rows
    rows[:, -2:] = np.arange(65536, dtype=">u2").view(np.uint8).reshape(-1, 2)
    values, bad, _ = codec.plans[0].run(rows)
    rows = rows[:, codec.pad :]
    for i in range(65536):
        try:
            expected = decode_field(field, rows[i].tobytes(), page)
        except InvalidPackedData:
            assert bad[i], rows[i].tobytes().hex()
            continue
        assert not bad[i] and values[i] == unscale(expected, field.scale), rows[i].tobytes().hex()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("trim", ["right", "both", "none"])
def test_text_decodes_every_byte_of_every_code_page_like_the_reference(page: str, trim: str) -> None:
    data = [bytes([b, 0x41 if page in ("ascii", "latin-1", "utf-8") else 0xC1, b, 0]) for b in range(256)]
    data += [bytes([0, 0, 0, 0]), b"\x40\x40\x40\x40", b"\x20\x20\x20\x20", b"\xc3\xa9\x20\x20"]
    got = _field_results("PIC X(4)", page, data, trim)
    assert got == _reference_results("PIC X(4)", page, data, trim)


def test_national_text_decodes_surrogates_and_padding_like_the_reference() -> None:
    data = [
        "ab".encode("utf-16-be") + b"\x00\x20" * 2,
        "\U0001f600xy".encode("utf-16-be"),
        b"\xd8\x00\x00\x41" * 2,
    ]
    data.append(b"\x00\x00" * 4)
    assert _field_results("PIC N(4)", "cp037", data) == _reference_results("PIC N(4)", "cp037", data)


@pytest.mark.parametrize(
    "clause", ["PIC S9(18)", "PIC S9(18) COMP-3", "PIC 9(16) COMP-3", "PIC S9(17)V9 COMP-3", "PIC S9(8)"]
)
def test_swar_digit_boundaries_round_trip_through_both_paths(clause: str) -> None:
    field = parse_copybook(f"01 R. 05 F {clause}.").fields[0]
    top = 10**field.digits - 1
    edges = [0, 1, 9, 10, 99999999, 10**8, 10**16 - 1, 10**16, top, -top, -1]
    values = [v for v in edges if abs(v) <= top and (field.signed or v >= 0)]
    page = get_codepage("cp037")
    data = [encode_field(field, Decimal(f"{v}E-{field.scale}") if field.scale else v, page) for v in values]
    columns = compile_layout(parse_copybook(f"01 R. 05 F {clause}.")).decode(b"".join(data))
    assert columns["F"].values.tolist() == values
    assert compile_layout(parse_copybook(f"01 R. 05 F {clause}.")).encode(columns).data == b"".join(data)


@pytest.mark.parametrize("clause", ["PIC S9(31) COMP-3", "PIC S9(25)", "PIC 9(19) COMP-3"])
def test_more_than_eighteen_digits_are_exact_python_ints(clause: str) -> None:
    field = parse_copybook(f"01 R. 05 F {clause}.").fields[0]
    rng = random.Random(3)
    values = [10**field.digits - 1, 0, *(rng.randrange(10**field.digits) for _ in range(20))]
    values = [-v if field.signed and i % 2 else v for i, v in enumerate(values)]
    page = get_codepage("cp037")
    data = b"".join(encode_field(field, v, page) for v in values)
    codec = compile_layout(parse_copybook(f"01 R. 05 F {clause}."))
    columns = codec.decode(data)
    assert columns["F"].values.dtype == object and columns["F"].values.tolist() == values
    assert codec.encode(columns).data == data


@pytest.mark.parametrize("native", ["big", "little"])
@pytest.mark.parametrize("fmt", ["ibm", "ieee"])
def test_floats_encode_and_decode_like_the_reference_at_the_edges(fmt: str, native: str) -> None:
    options = LayoutOptions(float_format=fmt, native_byte_order=native)  # type: ignore[arg-type]
    layout = parse_copybook("01 R. 05 S COMP-1. 05 L COMP-2.", options)
    rng = np.random.default_rng(5)
    values = [0.0, -0.0, 1.0, -1.5, 1e-80, 5.4e-79, 7e75, 1 / 3, *rng.normal(0, 1e6, 40).tolist()]
    values += (rng.standard_normal(20) * 10.0 ** rng.integers(-70, 70, 20)).tolist()
    codec = compile_layout(layout)
    records = [{"S": v, "L": v} for v in values]
    block = codec.encode_records(records)
    page = get_codepage("cp037")
    for i, value in enumerate(values):
        expected = b""
        for field in layout.fields:
            try:
                expected += encode_field(field, value, page)
            except Exception:  # beyond the short format's range: the record fails in both paths
                expected = b""
                break
        assert (block.record(i) or b"") == expected, value
    good = block.data
    decoded = codec.decode(good).records()
    for i, record in enumerate(decoded):
        raw = good[i * layout.record_length : (i + 1) * layout.record_length]
        assert record["S"] == decode_field(layout.fields[0], raw[:4], page)
        assert record["L"] == decode_field(layout.fields[1], raw[4:], page)


def test_unscale_is_exact_beyond_the_decimal_context_precision() -> None:
    value = Decimal("1234567890123456789012345678901.23")
    assert unscale(value, 2) == 123456789012345678901234567890123
    assert unscale(Decimal("-0.50"), 2) == -50 and unscale(12000, -3) == 12


def test_invalid_packed_and_zoned_bytes_are_the_reference_error_classes() -> None:
    assert _field_results("PIC S9(3) COMP-3", "cp037", [b"\x12\x38", b"\x1a\x3c"]) == [
        InvalidPackedData,
        InvalidPackedData,
    ]
    assert _field_results("PIC 9(3)", "cp037", [b"\xf1\xd2\xf3", b"\xf1\xf2\xd3", b"\x40\x40\x40"]) == [
        InvalidZonedData,
        InvalidZonedData,
        InvalidZonedData,
    ]


@pytest.mark.parametrize(("convention", "expected"), [("ascii", b"12rp12"), ("ebcdic", b"12K}12")])
def test_zoned_encoding_follows_the_chosen_ascii_sign_convention_and_decoding_accepts_both(
    convention: str, expected: bytes
) -> None:
    layout = parse_copybook("01 R. 05 A PIC S9(3). 05 B PIC S9(3) SIGN LEADING.")
    page = get_codepage("ascii")
    options = EncodeOptions(codepage=page, zoned_sign=convention)  # type: ignore[arg-type]
    codec = compile_layout(layout, decode=DecodeOptions(codepage=page), encode=options)
    data = codec.encode_records([{"A": -122, "B": -12}]).data
    assert data == expected
    assert codec.decode(data).records() == [{"A": -122, "B": -12}]


@pytest.mark.parametrize("raw", ["7f810000", "ff800001", "7f800000", "7fc00000"])  # sNaN, sNaN, inf, qNaN
def test_ieee_floats_that_are_not_numbers_are_bad_like_the_reference_and_raise_no_warning(raw: str) -> None:
    layout = parse_copybook("01 R. 05 S COMP-1.", LayoutOptions(float_format="ieee", native_byte_order="big"))
    column = compile_layout(layout).decode(bytes.fromhex(raw))["S"]  # warnings are errors in this suite
    assert column.bad.tolist() == [True]
    with pytest.raises(RecordDecodeError):
        decode_field(layout.fields[0], bytes.fromhex(raw), get_codepage("cp037"))
