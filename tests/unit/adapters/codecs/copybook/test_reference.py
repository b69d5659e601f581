"""The reference record decoder and encoder: the JSON shape, tables, REDEFINES, segments, error policies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.codecs.copybook.codepages import get_codepage
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions, Segments
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.errors import (
    DependingOnOutOfRange,
    InvalidPackedData,
    RecordDecodeError,
    RecordLengthError,
    UnrepresentableValue,
)

CP037 = get_codepage("cp037")
CLAIM = """
       01  CLAIM-REC.
           05  CLAIM-ID        PIC X(6).
           05  FILLER          PIC X(2).
           05  ACCT.
               10  BALANCE     PIC S9(5)V99 COMP-3.
               10  OPENED      PIC 9(8).
           05  LINE-COUNT      PIC 9(2).
           05  LINES           OCCURS 0 TO 3 TIMES
                               DEPENDING ON LINE-COUNT.
               10  CODE        PIC X(3).
               10  AMOUNT      PIC S9(3)V99.
"""


def e(text: str) -> bytes:
    return text.encode("cp037")


def claim(lines: list[tuple[str, str]]) -> bytes:
    body = e("C00042  ") + bytes.fromhex("0003050c") + e("20240131") + e(f"{len(lines):02d}")
    return body + b"".join(e(code) + e(amount) for code, amount in lines)


def test_a_record_decodes_to_nested_objects_without_the_01_level_or_filler() -> None:
    layout = parse_copybook(CLAIM)
    values = RecordDecoder(layout).decode(claim([("ABC", "0123{"), ("XY ", "0005}")])).values
    assert values == {
        "CLAIM-ID": "C00042",
        "ACCT": {"BALANCE": Decimal("30.50"), "OPENED": 20240131},
        "LINE-COUNT": 2,
        "LINES": [{"CODE": "ABC", "AMOUNT": Decimal("12.30")}, {"CODE": "XY", "AMOUNT": Decimal("-0.50")}],
    }


def test_depending_on_table_at_the_end_makes_the_record_as_long_as_the_counter_says() -> None:
    decoded = RecordDecoder(parse_copybook(CLAIM)).decode(claim([("ABC", "0123{")]))
    assert decoded.length == 30 and len(decoded.values["LINES"]) == 1


def test_counter_outside_the_table_bounds_is_a_depending_on_error() -> None:
    record = claim([]).replace(e("00"), e("07"))
    with pytest.raises(DependingOnOutOfRange) as caught:
        RecordDecoder(parse_copybook(CLAIM)).decode(record, number=4)
    assert str(caught.value) == (
        "record 4, field CLAIM-REC.LINES at offset 22: OCCURS DEPENDING ON counter out of range "
        "(expected CLAIM-REC.LINE-COUNT from 0 to 3, found 7)"
    )


def test_items_after_a_depending_on_table_shift_with_the_counter() -> None:
    layout = parse_copybook("01 R. 05 N PIC 9. 05 T PIC X(2) OCCURS 0 TO 3 DEPENDING ON N. 05 TAIL PIC X(3).")
    shifted = RecordDecoder(layout).decode(e("1ABEND"))
    assert shifted.values == {"N": 1, "T": ["AB"], "TAIL": "END"} and shifted.length == 6
    fixed = RecordDecoder(layout, DecodeOptions(odo="fixed")).decode(e("1AB    END"))
    assert fixed.values == {"N": 1, "T": ["AB"], "TAIL": "END"} and fixed.length == 10


def test_nested_depending_on_tables_shift_per_occurrence() -> None:
    layout = parse_copybook(
        "01 R. 02 N PIC 9. 02 G OCCURS 0 TO 2 DEPENDING ON N. 03 M PIC 9. "
        "03 I PIC X OCCURS 0 TO 3 DEPENDING ON M. 02 TAIL PIC X."
    )
    decoded = RecordDecoder(layout).decode(e("21A2BCZ"))
    assert decoded.values == {"N": 2, "G": [{"M": 1, "I": ["A"]}, {"M": 2, "I": ["B", "C"]}], "TAIL": "Z"}
    assert RecordEncoder(layout).encode(decoded.values) == e("21A2BCZ")


def test_redefines_members_all_decode_and_an_undecodable_member_is_null_not_an_error() -> None:
    layout = parse_copybook("01 R. 05 NUM PIC 9(5) COMP-3. 05 TXT REDEFINES NUM PIC X(3).")
    decoded = RecordDecoder(layout).decode(e("ABC"))
    assert decoded.values == {"NUM": None, "TXT": "ABC"} and decoded.errors == ()


SEGMENTED = """
       01  ENTITY.
           05  SEGMENT-ID        PIC X.
           05  COMPANY.
               10  NAME          PIC X(6).
               10  EMPLOYEES     PIC 9(3) COMP-3.
           05  PERSON REDEFINES COMPANY.
               10  FIRST-NAME    PIC X(4).
               10  AGE           PIC 9(2).
"""


def test_segment_map_decodes_only_the_member_the_segment_selects() -> None:
    layout = parse_copybook(SEGMENTED)
    options = DecodeOptions(segments=Segments("SEGMENT-ID", {"C": "COMPANY", "P": "PERSON"}))
    decoder = RecordDecoder(layout, options)
    assert decoder.decode(e("PJOHN42  ")).values == {
        "SEGMENT-ID": "P",
        "PERSON": {"FIRST-NAME": "JOHN", "AGE": 42},
    }
    company = decoder.decode(e("CACME  ") + bytes.fromhex("042f")).values
    assert company == {"SEGMENT-ID": "C", "COMPANY": {"NAME": "ACME", "EMPLOYEES": 42}}


def test_unknown_segment_value_is_a_record_error() -> None:
    options = DecodeOptions(segments=Segments("SEGMENT-ID", {"C": "COMPANY", "P": "PERSON"}))
    with pytest.raises(
        RecordDecodeError, match=r"segment value is not in the segment map \(expected 'C' or 'P'"
    ):
        RecordDecoder(parse_copybook(SEGMENTED), options).decode(e("XJOHN42  "), number=1)


def test_segment_map_naming_something_that_is_no_redefines_member_is_refused() -> None:
    with pytest.raises(KeyError, match="segment branch 'NAME' is not a REDEFINES member"):
        RecordDecoder(
            parse_copybook(SEGMENTED), DecodeOptions(segments=Segments("SEGMENT-ID", {"C": "NAME"}))
        )


def test_named_items_of_a_filler_group_are_lifted_into_the_enclosing_group() -> None:
    layout = parse_copybook(
        "01 R. 05 A PIC X(4). 05 FILLER REDEFINES A. 10 LEFT PIC X(2). 10 FILLER PIC X(2)."
    )
    assert RecordDecoder(layout).decode(e("ABCD")).values == {"A": "ABCD", "LEFT": "AB"}


def test_error_policies_reject_or_null_the_bad_field() -> None:
    layout = parse_copybook("01 R. 05 A PIC X(2). 05 B PIC S9(3) COMP-3. 05 C PIC X.")
    record = e("OK") + bytes.fromhex("1237") + e("Z")
    with pytest.raises(InvalidPackedData, match=r"^record 9, field R\.B at offset 2, bytes 12 37:"):
        RecordDecoder(layout).decode(record, number=9)
    nulled = RecordDecoder(layout, DecodeOptions(on_error="null")).decode(record, number=9)
    assert nulled.values == {"A": "OK", "B": None, "C": "Z"}
    assert [str(err) for err in nulled.errors] == [
        "record 9, field R.B at offset 2, bytes 12 37: invalid packed decimal sign "
        "(expected sign nibble C, A, E, F (+) or B, D (-), found 7)"
    ]


def test_short_record_pads_text_but_a_missing_number_is_a_length_error() -> None:
    layout = parse_copybook("01 R. 05 A PIC X(4). 05 B PIC X(4).")
    assert RecordDecoder(layout).decode(e("ABCDEF")).values == {"A": "ABCD", "B": "EF"}
    numeric = parse_copybook("01 R. 05 A PIC X(4). 05 B PIC 9(4).")
    with pytest.raises(RecordLengthError) as caught:
        RecordDecoder(numeric).decode(e("ABCD12"), number=3)
    assert str(caught.value) == (
        "record 3, field R.B at offset 4, bytes F1 F2: record ends before the end of the field "
        "(expected at least 8 bytes, found 6 bytes)"
    )


def test_text_trimming_options() -> None:
    layout = parse_copybook("01 R. 05 A PIC X(6).")
    record = e(" AB   ")
    assert RecordDecoder(layout).decode(record).values == {"A": " AB"}
    assert RecordDecoder(layout, DecodeOptions(trim="both")).decode(record).values == {"A": "AB"}
    assert RecordDecoder(layout, DecodeOptions(trim="none")).decode(record).values == {"A": " AB   "}


def test_encoding_writes_the_record_the_decoder_reads() -> None:
    layout = parse_copybook(CLAIM)
    record = claim([("ABC", "0123{"), ("XY ", "0005}")])
    values = RecordDecoder(layout).decode(record).values
    encoded = RecordEncoder(layout).encode(values)
    assert encoded == record.replace(e("C00042  "), e("C00042  "))  # FILLER is written as spaces


def test_encoding_checks_that_a_table_matches_its_counter() -> None:
    layout = parse_copybook(CLAIM)
    values = RecordDecoder(layout).decode(claim([("ABC", "0123{")])).values
    values["LINE-COUNT"] = 2
    with pytest.raises(UnrepresentableValue) as caught:
        RecordEncoder(layout).encode(values, number=5)
    assert str(caught.value) == (
        "record 5, field CLAIM-REC.LINES: table size does not match "
        "(expected CLAIM-REC.LINE-COUNT = 2 elements, found 1 elements)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.pop("CLAIM-ID"), "field CLAIM-REC.CLAIM-ID: field is missing"),
        (lambda v: v.update(EXTRA=1), "field CLAIM-REC.EXTRA: unknown field"),
        (lambda v: v["ACCT"].update(BALANCE=None), "field CLAIM-REC.ACCT.BALANCE: field is null"),
        (lambda v: v.update(ACCT=[]), "field CLAIM-REC.ACCT: group needs an object"),
    ],
)
def test_encoding_rejects_missing_unknown_and_null_fields(change: object, message: str) -> None:
    layout = parse_copybook(CLAIM)
    values = RecordDecoder(layout).decode(claim([])).values
    change(values)  # type: ignore[operator]
    with pytest.raises(UnrepresentableValue, match=rf"^{message.replace('.', '[.]')}"):
        RecordEncoder(layout).encode(values)


def test_encoding_a_redefines_chain_writes_the_first_member_with_a_value() -> None:
    layout = parse_copybook("01 R. 05 NUM PIC 9(5) COMP-3. 05 TXT REDEFINES NUM PIC X(3).")
    encoder = RecordEncoder(layout)
    assert encoder.encode({"NUM": None, "TXT": "ABC"}) == e("ABC")
    assert encoder.encode({"NUM": 12345, "TXT": "ignored"}).hex() == "12345f"
    with pytest.raises(UnrepresentableValue, match="no member of a REDEFINES chain has a value"):
        encoder.encode({"NUM": None, "TXT": None})


def test_encoding_with_segments_writes_the_selected_member() -> None:
    layout = parse_copybook(SEGMENTED)
    options = EncodeOptions(segments=Segments("SEGMENT-ID", {"C": "COMPANY", "P": "PERSON"}))
    record = RecordEncoder(layout, options).encode(
        {"SEGMENT-ID": "P", "PERSON": {"FIRST-NAME": "JO", "AGE": 7}}
    )
    assert record == e("PJO  07  ")


def test_filler_siblings_and_a_group_of_only_filler_do_not_hide_the_member_with_data() -> None:
    layout = parse_copybook(
        "01 R. 05 FILLER PIC X. 05 NAME PIC X(4). 05 FILLER REDEFINES NAME. 10 LEFT PIC X(2). "
        "10 FILLER PIC X(2). 05 FILLER PIC X. 05 BLANKS. 10 FILLER PIC X(3). "
        "05 WHO REDEFINES BLANKS. 10 FIRST PIC X(3)."
    )
    values = RecordDecoder(layout).decode(e("*ABCD-JOE")).values
    assert values == {"NAME": "ABCD", "LEFT": "AB", "BLANKS": {}, "WHO": {"FIRST": "JOE"}}
    assert RecordEncoder(layout).encode(values) == e(" ABCD JOE")
