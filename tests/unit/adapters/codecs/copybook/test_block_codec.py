"""The block codec's behaviour as callers see it: columns, errors with their location, encode results."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from adapters.codecs.copybook.codepages import get_codepage
from adapters.codecs.copybook.compiled import compile_layout
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions, Segments
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.errors import (
    DependingOnOutOfRange,
    EncodeOverflow,
    InvalidPackedData,
    RecordLengthError,
    UnrepresentableValue,
)
from tests.unit.adapters.codecs.copybook.block_checks import (
    assert_decodes_like_reference,
    assert_encodes_like_reference,
)

CLAIM = parse_copybook(
    """
       01  CLAIM-REC.
           05  CLAIM-ID        PIC X(8).
           05  AMOUNT          PIC S9(7)V99 COMP-3.
           05  LINES           OCCURS 3 TIMES.
               10  CODE        PIC 9(4) COMP.
               10  QTY         PIC S9(3).
           05  FILLER          PIC X(2).
           05  RATE            COMP-2.
    """
)
ROWS = [
    {"CLAIM-ID": "C-1", "AMOUNT": Decimal("30.50"), "LINES": [{"CODE": 7, "QTY": -2}] * 3, "RATE": 0.25},
    {"CLAIM-ID": "C-22", "AMOUNT": Decimal("-0.05"), "LINES": [{"CODE": 9999, "QTY": 999}] * 3, "RATE": -8.0},
]


@pytest.fixture
def codec():  # type: ignore[no-untyped-def]
    return compile_layout(CLAIM)


def test_columns_hold_exact_unscaled_integers_with_the_fields_scale(codec) -> None:  # type: ignore[no-untyped-def]
    columns = codec.decode(codec.encode_records(ROWS).data)
    amount = columns["AMOUNT"]
    assert amount.values.dtype == np.int64 and amount.values.tolist() == [3050, -5] and amount.scale == 2
    assert amount.decimals().tolist() == [Decimal("30.50"), Decimal("-0.05")]
    assert str(amount.decimals()[0]) == "30.50"
    assert amount.floats().tolist() == [30.5, -0.05]


def test_occurs_fields_are_two_dimensional_columns(codec) -> None:  # type: ignore[no-untyped-def]
    columns = codec.decode(codec.encode_records(ROWS).data)
    assert columns["CLAIM-REC.LINES.QTY"].values.tolist() == [[-2, -2, -2], [999, 999, 999]]
    assert columns["CODE"].values.shape == (2, 3)


def test_text_is_decoded_when_first_read_and_trimmed(codec) -> None:  # type: ignore[no-untyped-def]
    columns = codec.decode(codec.encode_records(ROWS).data)
    claim_id = columns["CLAIM-ID"]
    assert claim_id.raw is not None and claim_id.raw[0].tobytes() == "C-1     ".encode("cp037")
    assert claim_id.values.tolist() == ["C-1", "C-22"]


def test_filler_has_no_column_and_records_have_the_reference_shape(codec) -> None:  # type: ignore[no-untyped-def]
    columns = codec.decode(codec.encode_records(ROWS).data)
    assert "CLAIM-REC.FILLER" not in columns and len(columns) == 5
    assert columns.records() == ROWS


def test_a_partial_record_at_the_end_is_a_record_length_error(codec) -> None:  # type: ignore[no-untyped-def]
    data = codec.encode_records(ROWS).data
    with pytest.raises(RecordLengthError) as caught:
        codec.decode(data[:-3], first_record=11)
    assert caught.value.record == 12 and caught.value.file_offset == CLAIM.record_length


def test_bad_packed_data_names_record_field_offset_and_bytes(codec) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(codec.encode_records(ROWS * 3).data)
    data[CLAIM.record_length * 4 + 12] = 0x5A  # record 5, last byte of AMOUNT: sign nibble A is fine, digit 5
    data[CLAIM.record_length * 2 + 9] = 0xAB  # record 3: digit nibble A
    columns = codec.decode(bytes(data), first_record=100)
    assert columns.bad_mask().nonzero()[0].tolist() == [2]
    (error,) = columns.errors()
    assert isinstance(error, InvalidPackedData)
    assert (error.record, error.field, error.offset) == (102, "CLAIM-REC.AMOUNT", 8)
    assert error.hex.startswith("00 AB")
    assert columns.record(2).values["AMOUNT"] is None and columns["AMOUNT"].bad.tolist()[2]


def test_encode_reports_a_value_that_does_not_fit_per_record_and_keeps_the_others(codec) -> None:  # type: ignore[no-untyped-def]
    rows = [
        dict(ROWS[0]),
        dict(ROWS[1], AMOUNT=Decimal("12345678.00")),
        dict(ROWS[0], AMOUNT=Decimal("1.005")),
    ]
    block = codec.encode_records(rows)
    assert block.ok.tolist() == [True, False, False]
    assert [type(e) for e in block.errors] == [EncodeOverflow, EncodeOverflow]
    assert [e.record for e in block.errors] == [2, 3] and block.errors[0].field == "CLAIM-REC.AMOUNT"
    assert block.data == codec.encode_records(rows[:1]).data
    assert_encodes_like_reference(codec, rows)


def test_encoding_plain_arrays_takes_unscaled_integers(codec) -> None:  # type: ignore[no-untyped-def]
    columns = {
        "CLAIM-ID": np.array(["A", "B"]),
        "AMOUNT": np.array([3050, 10**9]),  # 10**9 unscaled = 10,000,000.00: one digit too many
        "CODE": np.array([[1, 2, 3], [4, 5, 6]]),
        "QTY": np.zeros((2, 3), dtype=np.int64),
        "RATE": np.array([1.0, 2.0]),
    }
    block = codec.encode(columns)
    assert block.ok.tolist() == [True, False]
    assert codec.decode(block.data).records()[0]["AMOUNT"] == Decimal("30.50")


def test_encoding_without_a_column_for_a_field_is_refused(codec) -> None:  # type: ignore[no-untyped-def]
    given = {"CLAIM-ID": np.array(["A"]), "AMOUNT": np.array([1]), "CODE": np.zeros((1, 3), dtype=int)}
    with pytest.raises(KeyError, match=r"CLAIM-REC\.LINES\.QTY"):
        codec.encode(given)


def test_fallback_is_only_taken_for_records_that_need_it(codec) -> None:  # type: ignore[no-untyped-def]
    block = codec.encode_records(ROWS * 50)
    assert not block.fallback.any()
    assert not codec.decode(block.data).resolved_mask().any()


DEPENDING = parse_copybook(
    """
       01  ORDER-REC.
           05  N           PIC 9.
           05  ITEMS       OCCURS 1 TO 4 DEPENDING ON N.
               10  SKU     PIC X(3).
               10  PRICE   PIC S9(3)V9 COMP-3.
    """
)


@pytest.mark.parametrize("odo", ["shift", "fixed"])
def test_a_depending_on_table_ending_the_record_is_as_long_as_its_counter(odo: str) -> None:
    page = get_codepage("cp037")
    codec = compile_layout(
        DEPENDING,
        decode=DecodeOptions(codepage=page, odo=odo),
        encode=EncodeOptions(codepage=page, odo=odo),  # type: ignore[arg-type]
    )
    rows = [
        {"N": n, "ITEMS": [{"SKU": f"S{k}", "PRICE": Decimal(f"{k}.5")} for k in range(n)]} for n in (1, 4, 2)
    ]
    block = codec.encode_records(rows)
    assert not block.fallback.any()
    full = DEPENDING.record_length
    assert block.lengths.tolist() == ([full - 18, full, full - 12] if odo == "shift" else [full] * 3)
    assert codec.decode_records(block.records()).records() == rows  # type: ignore[arg-type]
    assert_encodes_like_reference(codec, rows)
    assert_decodes_like_reference(codec, [r or b"" for r in block.records()], variable=True)


def test_a_counter_out_of_range_is_the_reference_error() -> None:
    codec = compile_layout(DEPENDING)
    data = bytearray(codec.encode_records([{"N": 2, "ITEMS": [{"SKU": "A", "PRICE": 1}] * 2}]).data)
    data[0] = 0xF7  # N = 7 > 4
    columns = codec.decode_records([bytes(data)])
    assert isinstance(columns.errors()[0], DependingOnOutOfRange)
    assert_decodes_like_reference(codec, [bytes(data)], variable=True)


SEGMENTED = parse_copybook(
    """
       01  REC.
           05  KIND        PIC X.
           05  PERSON.
               10  NAME    PIC X(6).
           05  COMPANY REDEFINES PERSON.
               10  REVENUE PIC S9(9) COMP-3.
               10  FILLER  PIC X.
    """
)


def test_segments_pick_one_redefines_member_per_record_in_both_directions() -> None:
    segments = Segments("KIND", {"P": "PERSON", "C": "COMPANY"})
    page = get_codepage("cp037")
    codec = compile_layout(
        SEGMENTED,
        decode=DecodeOptions(codepage=page, segments=segments),
        encode=EncodeOptions(codepage=page, segments=segments),
    )
    rows = [{"KIND": "P", "PERSON": {"NAME": "ADA"}}, {"KIND": "C", "COMPANY": {"REVENUE": -5}}]
    block = codec.encode_records([*rows, {"KIND": "X", "PERSON": {"NAME": "B"}}])
    assert block.ok.tolist() == [True, True, False] and isinstance(block.errors[0], UnrepresentableValue)
    columns = codec.decode(block.data)
    assert columns.records() == rows
    assert columns["REVENUE"].present.tolist() == [False, True]
    assert_encodes_like_reference(codec, rows)


def test_redefines_members_that_do_not_decode_are_null_without_an_error() -> None:
    layout = parse_copybook("01 R. 05 A PIC X(4). 05 B REDEFINES A PIC S9(6) COMP-3.")
    codec = compile_layout(layout)
    columns = codec.decode("ABCD".encode("cp037"))
    assert columns.records() == [{"A": "ABCD", "B": None}] and not columns.bad_mask().any()
    assert codec.encode(columns).data == "ABCD".encode("cp037")


def test_exact_and_float_views_null_what_did_not_decode_or_does_not_exist() -> None:
    codec = compile_layout(DEPENDING)
    data = codec.encode_records([{"N": 2, "ITEMS": [{"SKU": "A", "PRICE": Decimal("1.5")}] * 2}]).data
    price = codec.decode_records([data])["PRICE"]
    assert price.decimals().tolist() == [[Decimal("1.5"), Decimal("1.5"), None, None]]
    floats = price.floats()
    assert floats[0, :2].tolist() == [1.5, 1.5] and np.isnan(floats[0, 2:]).all()


@pytest.mark.parametrize("module", ["columns", "compiled"])
def test_docstring_examples_of_the_block_codec_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"adapters.codecs.copybook.{module}"))
    assert result.attempted > 0 and result.failed == 0
