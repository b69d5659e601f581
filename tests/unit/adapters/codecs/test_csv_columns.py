"""CSV records as column chunks: what the reader keeps exact, what it parses, and how it numbers records."""

from __future__ import annotations

import io

import numpy as np
import pytest

from adapters.codecs.csv import CsvDecodeError, CsvDialect, CsvEncodeError, CsvReader, CsvWriter


def read(
    data: bytes, rows: int = 100, dialect: CsvDialect | None = None, numeric: set[str] = frozenset(), **kw
):  # type: ignore[no-untyped-def]
    reader = CsvReader(dialect or CsvDialect(), numeric=lambda name: name in numeric, **kw)
    return list(reader.chunks(io.BytesIO(data), rows))


def test_text_fields_keep_exactly_what_was_written_and_numeric_ones_become_numbers() -> None:
    (chunk,) = read(b"id,amount,x\n007,30.50,NA\n", numeric={"amount"})
    assert chunk.columns["id"].tolist() == ["007"]
    assert chunk.columns["x"].tolist() == ["NA"]
    assert chunk.columns["amount"].dtype == np.float64 and chunk.columns["amount"].tolist() == [30.5]


def test_a_quoted_field_may_hold_delimiters_quotes_and_line_breaks_and_is_still_one_record() -> None:
    (chunk,) = read(b'id,note\n1,"a, ""b""\nc"\n2,d\n')
    assert chunk.columns["note"].tolist() == ['a, "b"\nc', "d"]
    assert chunk.record_numbers.tolist() == [1, 2]


def test_a_record_with_too_many_fields_is_reported_by_number_and_the_others_are_read() -> None:
    chunks = read(b"a,b\n1,2\n3,4,5\n6,7\n8,9,10\n", rows=1, numeric={"a", "b"})
    numbers = [n for c in chunks for n in c.record_numbers.tolist()]
    bad = [(b.record_number, b.reason) for c in chunks for b in c.bad]
    assert numbers == [1, 3]
    assert bad == [(2, "expected 2 fields, saw 3"), (4, "expected 2 fields, saw 3")]


def test_record_numbers_count_data_records_across_chunks_with_the_header_excluded() -> None:
    data = b"a\n" + b"".join(f"{i}\n".encode() for i in range(1, 26))
    chunks = read(data, rows=10, numeric={"a"})
    assert [c.n_rows for c in chunks] == [10, 10, 5]
    assert np.concatenate([c.record_numbers for c in chunks]).tolist() == list(range(1, 26))
    assert np.concatenate([c.columns["a"] for c in chunks]).tolist() == list(range(1, 26))


def test_a_value_that_is_not_a_number_keeps_its_chunks_column_as_text_for_the_caller_to_reject() -> None:
    (chunk,) = read(b"a\n1.5\nabc\n\n", numeric={"a"})
    values = chunk.columns["a"].tolist()
    assert values[:2] == ["1.5", "abc"] and chunk.record_numbers.tolist() == [1, 2, 3]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8"])
def test_text_in_the_configured_encoding_reads_back_as_the_same_characters(encoding: str) -> None:
    data = "name;amount\nZoë Müller;1,5\n".encode(encoding)
    dialect = CsvDialect(delimiter=";", decimal=",", encoding=encoding)
    (chunk,) = read(data, dialect=dialect, numeric={"amount"})
    assert chunk.columns["name"].tolist() == ["Zoë Müller"]
    assert chunk.columns["amount"].tolist() == [1.5]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_field_name() -> None:
    (chunk,) = read("\ufeffid,v\n1,2\n".encode())
    assert chunk.fields == ("id", "v")


def test_text_that_does_not_decode_makes_the_whole_input_invalid() -> None:
    with pytest.raises(CsvDecodeError, match="not valid utf-8"):
        read(b"id\n\xff\xfe\n")


def test_an_unterminated_quoted_field_makes_the_whole_input_invalid() -> None:
    with pytest.raises(CsvDecodeError, match="EOF inside string"):
        read(b'id,v\n1,"never closed\n2,3\n')


def test_a_header_naming_a_field_twice_is_refused() -> None:
    with pytest.raises(CsvDecodeError, match="names field 'a' twice"):
        read(b"a,b,a\n1,2,3\n")


def test_a_file_without_a_header_takes_its_field_names_from_the_dialect() -> None:
    dialect = CsvDialect(header=False, columns=("a", "b"))
    (chunk,) = read(b"1,x\n2,y\n", dialect=dialect, numeric={"a"})
    assert chunk.columns["a"].tolist() == [1, 2] and chunk.record_numbers.tolist() == [1, 2]


def test_an_empty_input_is_one_empty_chunk() -> None:
    (chunk,) = read(b"")
    assert chunk.n_rows == 0 and chunk.bad == []


def test_a_header_only_input_is_one_empty_chunk_that_names_the_fields() -> None:
    (chunk,) = read(b"a,b\n")
    assert chunk.n_rows == 0 and chunk.fields == ("a", "b")


def test_only_wanted_fields_are_returned() -> None:
    (chunk,) = read(b"a,b,c\n1,2,3\n", wanted=lambda name: name != "b")
    assert set(chunk.columns) == {"a", "c"} and chunk.fields == ("a", "b", "c")


def test_the_reader_refuses_an_encoding_that_is_not_ascii_compatible() -> None:
    with pytest.raises(ValueError, match="not ASCII-compatible"):
        CsvDialect(encoding="utf-16")


def test_the_writer_quotes_only_fields_that_need_it_and_writes_missing_values_empty() -> None:
    writer = CsvWriter(CsvDialect(), ["id", "p", "n", "ok"])
    data = writer.header() + writer.encode(
        {
            "id": np.array(["a,b", 'say "hi"', None], dtype=object),
            "p": np.array([0.1, np.nan, 2.5], dtype=np.float32),
            "n": np.array([1, 2, 3]),
            "ok": np.array([True, False, True]),
        }
    )
    assert data.decode() == 'id,p,n,ok\n"a,b",0.1,1,true\n"say ""hi""",,2,false\n,2.5,3,true\n'


def test_the_writer_writes_float32_values_with_their_shortest_exact_digits() -> None:
    writer = CsvWriter(CsvDialect(header=False), ["p"])
    assert writer.encode({"p": np.array([0.93584883], dtype=np.float32)}) == b"0.93584883\n"


@pytest.mark.parametrize(
    ("quoting", "expected"),
    [("all", '"x","1"\r\n'), ("nonnumeric", '"x",1\r\n'), ("minimal", "x,1\r\n")],
)
def test_the_writer_follows_the_quoting_mode_and_line_ending(quoting: str, expected: str) -> None:
    writer = CsvWriter(CsvDialect(quoting=quoting, header=False, newline="\r\n"), ["s", "n"])  # type: ignore[arg-type]
    assert writer.encode({"s": ["x"], "n": np.array([1])}).decode() == expected


def test_the_writer_refuses_a_value_it_cannot_write_without_quoting_when_quoting_is_none() -> None:
    writer = CsvWriter(CsvDialect(quoting="none"), ["s"])
    with pytest.raises(CsvEncodeError, match="quoting is 'none'"):
        writer.encode({"s": ["a,b"]})


def test_the_writer_refuses_a_character_the_output_encoding_lacks() -> None:
    writer = CsvWriter(CsvDialect(encoding="latin-1"), ["s"])
    with pytest.raises(CsvEncodeError, match="cannot represent"):
        writer.encode({"s": ["€ 5"]})
