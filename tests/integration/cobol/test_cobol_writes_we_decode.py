"""GnuCOBOL writes records, Bridgeway decodes them.

A generated program MOVEs known values into a record holding every usage and sign convention GnuCOBOL
writes (text, unsigned and signed zoned decimals with every SIGN clause, COMP/BINARY of every size,
COMP-5, COMP-3 of odd and even digit counts with and without sign and scale, IEEE COMP-1/COMP-2, an OCCURS
table, nested groups), DISPLAYs each field and WRITEs the record. The decoded values must equal both the
values moved and the values the program displayed.

The program is compiled twice: with GnuCOBOL's default dialect (COMP in 1-2-4-8 bytes, big-endian) and
with ``-fbinary-size=2-4-8`` (IBM sizes). ``-fbinary-byteorder=native`` (little-endian COMP) is not
covered: the codec's COMP is big-endian by definition; only COMP-5 follows ``native_byte_order``.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.codecs.copybook import (
    DecodeOptions,
    Framing,
    LayoutOptions,
    RecordDecoder,
    RecordReader,
    parse_copybook,
)
from tests.integration.cobol.cobol_records import (
    ALL_USAGES_CPY,
    ALL_USAGES_RECORDS,
    ASCII,
    GNUCOBOL_CLI_LAYOUT,
    GNUCOBOL_LAYOUT,
    TEXT_CPY,
    TEXT_RECORDS,
    Written,
    assert_all_decoded,
    assert_display_matches,
    assert_same_values,
    bridgeway,
    write_with_gnucobol,
)

DIALECTS = {
    "default-1-2-4-8": GNUCOBOL_LAYOUT,
    "binary-size-2-4-8": dataclasses.replace(GNUCOBOL_LAYOUT, binary_sizes="2-4-8"),
}


@pytest.fixture(scope="module", params=list(DIALECTS))
def dialect(
    request: pytest.FixtureRequest, cobc: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Written, LayoutOptions]:
    """The every-usage file written under one binary-size dialect, and the layout options that read it."""
    if request.param == "default-1-2-4-8":
        written: Written = request.getfixturevalue("gnucobol_written")
    else:
        workdir = tmp_path_factory.mktemp("writer-2-4-8")
        flag = "-fbinary-size=2-4-8"
        written = write_with_gnucobol(cobc, workdir, ALL_USAGES_CPY, ALL_USAGES_RECORDS, flag)
    return written, DIALECTS[request.param]


def _decode_file(path: Path, copybook: str, layout_options: LayoutOptions, record_format: str) -> list[dict]:
    layout = parse_copybook(copybook, layout_options)
    decoder = RecordDecoder(layout, DecodeOptions(codepage=ASCII))
    framing = Framing(record_format, layout.record_length)  # type: ignore[arg-type]
    with path.open("rb") as handle:
        return [decoder.decode(raw.data, raw.number).values for raw in RecordReader(handle, framing)]


def test_the_copybook_lays_out_records_of_the_size_gnucobol_writes(
    dialect: tuple[Written, LayoutOptions],
) -> None:
    written, layout_options = dialect
    layout = parse_copybook(ALL_USAGES_CPY, layout_options)
    assert written.data.stat().st_size == len(ALL_USAGES_RECORDS) * layout.record_length


def test_every_usage_decodes_to_the_value_the_program_moved(dialect: tuple[Written, LayoutOptions]) -> None:
    written, layout_options = dialect
    decoded = _decode_file(written.data, ALL_USAGES_CPY, layout_options, "F")
    assert_all_decoded(ALL_USAGES_RECORDS, decoded)


def test_every_decoded_value_matches_what_the_program_displayed(
    dialect: tuple[Written, LayoutOptions],
) -> None:
    written, layout_options = dialect
    decoded = _decode_file(written.data, ALL_USAGES_CPY, layout_options, "F")
    assert len(written.displayed) == len(decoded) == len(ALL_USAGES_RECORDS)
    for number, (values, displayed) in enumerate(zip(decoded, written.displayed, strict=True), start=1):
        assert_display_matches(values, displayed, f"record {number}")


def test_the_cli_decodes_the_cobol_file_to_the_values_moved(
    gnucobol_written: Written, tmp_path: Path
) -> None:
    copybook = tmp_path / "record.cpy"
    copybook.write_text(ALL_USAGES_CPY, encoding="ascii")
    out = tmp_path / "records.jsonl"
    args = [
        "decode",
        "--copybook",
        str(copybook),
        *GNUCOBOL_CLI_LAYOUT,
        str(gnucobol_written.data),
        "-o",
        str(out),
    ]
    done = bridgeway("copybook", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    decoded = [json.loads(line, parse_float=Decimal) for line in lines]
    assert_all_decoded(ALL_USAGES_RECORDS, decoded)


def test_line_sequential_records_decode_although_gnucobol_strips_their_trailing_spaces(
    cobc: str, tmp_path: Path
) -> None:
    written = write_with_gnucobol(cobc, tmp_path, TEXT_CPY, TEXT_RECORDS, organization="LINE SEQUENTIAL")
    data, displayed = written.data, written.displayed
    record_length = parse_copybook(TEXT_CPY, GNUCOBOL_LAYOUT).record_length
    lines = data.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(TEXT_RECORDS) + 1
    assert any(len(line) < record_length for line in lines[:-1]), "no line was shortened: nothing tested"
    decoded = _decode_file(data, TEXT_CPY, GNUCOBOL_LAYOUT, "text")
    assert len(decoded) == len(TEXT_RECORDS) == len(displayed)
    for number, (expected, got, shown) in enumerate(zip(TEXT_RECORDS, decoded, displayed, strict=True), 1):
        assert_same_values(expected, got, f"record {number}")
        assert_display_matches(got, shown, f"record {number}")
