"""Record framing: fixed, RDW/BDW variable, text; headers, trailers, streaming and bad descriptor words."""

from __future__ import annotations

import io

import pytest

from adapters.codecs.copybook.framing import Framing, RecordReader, RecordWriter
from adapters.codecs.errors import BadRecordDescriptor, RecordLengthError


def records(data: bytes, framing: Framing) -> list[bytes]:
    return [r.data for r in RecordReader(io.BytesIO(data), framing)]


def test_fixed_records_split_by_length_with_numbers_and_offsets() -> None:
    read = list(RecordReader(b"AAABBBCCC", Framing("F", 3)))
    assert [(r.number, r.offset, r.data) for r in read] == [(1, 0, b"AAA"), (2, 3, b"BBB"), (3, 6, b"CCC")]


def test_a_partial_last_fixed_record_is_a_length_error_naming_the_offset() -> None:
    with pytest.raises(RecordLengthError) as caught:
        records(b"AAABB", Framing("FB", 3))
    assert str(caught.value) == (
        "input byte offset 3, bytes 42 42: input ends inside a fixed-length record "
        "(expected 3 bytes, found 2 bytes)"
    )


@pytest.mark.parametrize(
    ("rdw", "framing"),
    [
        (b"\x00\x07\x00\x00", Framing("V")),  # IBM: big-endian, counts its own 4 bytes
        (b"\x00\x03\x00\x00", Framing("V", rdw_includes_header=False)),
        (b"\x07\x00\x00\x00", Framing("V", rdw_order="little")),
        (b"\x00\x00\x03\x00", Framing("V", rdw_order="little", rdw_includes_header=False)),  # 00 00 lo hi
        (b"\x00\x00\x00\x07", Framing("V")),  # 00 00 hi lo
    ],
)
def test_rdw_variants_are_read_through_the_two_options(rdw: bytes, framing: Framing) -> None:
    assert records(rdw + b"ABC" + rdw + b"DEF", framing) == [b"ABC", b"DEF"]


def test_vb_blocks_hold_several_records_behind_a_bdw() -> None:
    block = b"\x00\x0e\x00\x00" + b"\x00\x05\x00\x00A" + b"\x00\x05\x00\x00B"
    assert records(block + b"\x00\x09\x00\x00\x00\x05\x00\x00C", Framing("VB")) == [b"A", b"B", b"C"]


@pytest.mark.parametrize(
    ("data", "framing", "message"),
    [
        (b"\x00\x07\x00\x01ABC", Framing("V"),
         "input byte offset 0, bytes 00 07 00 01: malformed record descriptor word (expected one zero half"),
        (b"\x00\x07\x01\x00ABC", Framing("V"),
         "input byte offset 0, bytes 00 07 01 00: spanned record segments (VS/VBS) are not supported"),
        (b"\x00\x02\x00\x00", Framing("V"),
         "input byte offset 0, bytes 00 02 00 00: record descriptor word length is less than 4"),
        (b"\x00\x06\x00\x00\x00\x05\x00\x00A", Framing("VB"),
         "input byte offset 0, bytes 00 06 00 00: block descriptor word length is too small"),
        (b"\x00\x0a\x00\x00\x00\x09\x00\x00ABCDE", Framing("VB"),
         "input byte offset 4, bytes 00 09 00 00: record runs past the end of its block"),
    ],
)  # fmt: skip
def test_bad_descriptor_words_name_their_input_offset(data: bytes, framing: Framing, message: str) -> None:
    with pytest.raises(BadRecordDescriptor) as caught:
        records(data, framing)
    assert str(caught.value).startswith(message)


def test_input_ending_inside_a_variable_record_is_a_length_error() -> None:
    with pytest.raises(RecordLengthError, match="input ends inside a variable-length record"):
        records(b"\x00\x08\x00\x00AB", Framing("V"))


def test_text_records_end_at_newlines_and_accept_crlf() -> None:
    assert records(b"ONE\r\nTWO\nTHREE", Framing("text")) == [b"ONE", b"TWO", b"THREE"]
    assert records(b"ONE\n", Framing("text")) == [b"ONE"]


def test_header_and_trailer_bytes_are_skipped_and_the_trailer_is_kept() -> None:
    reader = RecordReader(
        io.BytesIO(b"HDR" + b"AABB" + b"TRL02"), Framing("F", 2, skip_header=3, skip_trailer=5)
    )
    assert [r.data for r in reader] == [b"AA", b"BB"]
    assert (reader.trailer, reader.count) == (b"TRL02", 2)


def test_reading_streams_in_chunks_across_record_boundaries() -> None:
    class CountingStream(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            CountingStream.largest = max(CountingStream.largest, size or 0)
            return super().read(size)

    data = b"".join(b"\x00\x09\x00\x00" + bytes([65 + i % 26]) * 5 for i in range(1000)) + b"END"
    reader = RecordReader(CountingStream(data), Framing("V", chunk_size=7, skip_trailer=3))
    read = [r.data for r in reader]
    assert (len(read), read[0], read[-1], reader.trailer) == (1000, b"AAAAA", b"LLLLL", b"END")
    assert CountingStream.largest <= 16  # chunks, never the whole input


def test_fixed_framing_needs_a_record_length() -> None:
    with pytest.raises(ValueError, match="record format F needs a positive record length"):
        Framing("F")


@pytest.mark.parametrize(
    "framing",
    [
        Framing("F", 4),
        Framing("V"),
        Framing("V", rdw_order="little", rdw_includes_header=False),
        Framing("VB"),
        Framing("text"),
    ],
)
def test_written_records_read_back_unchanged(framing: Framing) -> None:
    sink = io.BytesIO()
    writer = RecordWriter(sink, framing, pad=b"_", block_size=20)
    for record in (b"ONE", b"TWO2", b"X"):
        writer.write(record)
    writer.close()
    expected = [b"ONE_", b"TWO2", b"X___"] if framing.record_format == "F" else [b"ONE", b"TWO2", b"X"]
    assert records(sink.getvalue(), framing) == expected


def test_writing_a_record_longer_than_the_fixed_length_is_refused() -> None:
    with pytest.raises(ValueError, match="record of 5 bytes is longer than the record length 4"):
        RecordWriter(io.BytesIO(), Framing("F", 4)).write(b"12345")
