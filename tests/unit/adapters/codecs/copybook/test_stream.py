"""Streams of records: error policies across records and the trailer record count check."""

from __future__ import annotations

import pytest

from adapters.codecs.copybook.framing import Framing
from adapters.codecs.copybook.options import DecodeOptions
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.copybook.stream import DecodedRecord, Rejected, TrailerCheck, decode_stream
from adapters.codecs.errors import InvalidZonedData, TrailerMismatch

LAYOUT = parse_copybook("01 R. 05 ID PIC X(2). 05 QTY PIC 9(3).")
TRAILER = parse_copybook("01 T. 05 TAG PIC X(3). 05 COUNT PIC 9(4).")


def e(text: str) -> bytes:
    return text.encode("cp037")


def run(data: bytes, on_error: str, **framing: object) -> list[DecodedRecord | Rejected]:
    decoder = RecordDecoder(LAYOUT, DecodeOptions(on_error=on_error))  # type: ignore[arg-type]
    return list(decode_stream(data, decoder, Framing("F", 5, **framing)))  # type: ignore[arg-type]


def test_reject_policy_skips_the_bad_record_and_keeps_the_others() -> None:
    items = run(e("A1001B2x02C3003"), "reject")
    assert [type(i).__name__ for i in items] == ["DecodedRecord", "Rejected", "DecodedRecord"]
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.number, rejected.offset, rejected.data) == (2, 5, e("B2x02"))
    assert str(rejected.error) == (
        "record 2, field R.QTY at offset 2, bytes A7 F0 F2: not a zoned decimal digit "
        "(expected F0-F9, found A7 at byte 0)"
    )


def test_null_policy_keeps_every_record_with_the_bad_field_nulled() -> None:
    items = run(e("A1001B2x02"), "null")
    assert all(isinstance(i, DecodedRecord) for i in items)
    second = items[1]
    assert (
        isinstance(second, DecodedRecord)
        and second.values == {"ID": "B2", "QTY": None}
        and len(second.errors) == 1
    )


def test_fail_policy_stops_at_the_first_bad_record() -> None:
    with pytest.raises(InvalidZonedData, match=r"^record 2, "):
        run(e("A1001B2x02C3003"), "fail")


def test_trailer_count_matching_the_records_passes() -> None:
    decoder = RecordDecoder(LAYOUT)
    items = list(
        decode_stream(
            e("A1001B2002TRL0002"),
            decoder,
            Framing("F", 5, skip_trailer=7),
            trailer=TrailerCheck(TRAILER, "COUNT"),
        )
    )
    assert len(items) == 2


def test_trailer_count_disagreeing_with_the_records_is_an_error() -> None:
    decoder = RecordDecoder(LAYOUT)
    stream = decode_stream(
        e("A1001B2002TRL0003"),
        decoder,
        Framing("F", 5, skip_trailer=7),
        trailer=TrailerCheck(TRAILER, "COUNT"),
    )
    with pytest.raises(TrailerMismatch) as caught:
        list(stream)
    assert str(caught.value) == (
        "field T.COUNT at offset 3, bytes F0 F0 F0 F3: trailer record count does not match the records read "
        "(expected 3 records, found 2 records)"
    )
