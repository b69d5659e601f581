"""EBCDIC conventions in GnuCOBOL data: the zoned sign, both directions.

``cobc -fsign=EBCDIC`` makes GnuCOBOL write signed zoned decimals with the EBCDIC overpunch in ASCII
data (``{``/``A``-``I`` positive, ``}``/``J``-``R`` negative, also with SIGN LEADING): we decode such files
and encode them (``--zoned-sign ebcdic``) byte for byte as GnuCOBOL does, and a program compiled with the
same flag reads our records back.

EBCDIC *text* is not covered: GnuCOBOL 3.1.2 parses ``FD ... CODE-SET IS`` an EBCDIC alphabet but warns
"CODE-SET is not implemented" and writes ASCII, so no GnuCOBOL program here can produce or consume an
EBCDIC-encoded file; the code pages are covered by the codec's unit and conformance tests instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.codecs.copybook import DecodeOptions, RecordDecoder, parse_copybook
from tests.integration.cobol.cobol_records import (
    ALL_USAGES_CPY,
    ALL_USAGES_RECORDS,
    ASCII,
    GNUCOBOL_CLI_LAYOUT,
    GNUCOBOL_LAYOUT,
    Written,
    assert_all_displayed,
    assert_display_matches,
    assert_same_values,
    bridgeway,
    compile_program,
    json_line,
    reader_source,
    run_program,
    write_with_gnucobol,
)

EBCDIC_SIGN = "-fsign=EBCDIC"
LAYOUT = parse_copybook(ALL_USAGES_CPY, GNUCOBOL_LAYOUT)


@pytest.fixture(scope="module")
def ebcdic_written(cobc: str, tmp_path_factory: pytest.TempPathFactory) -> Written:
    workdir = tmp_path_factory.mktemp("writer-ebcdic-sign")
    return write_with_gnucobol(cobc, workdir, ALL_USAGES_CPY, ALL_USAGES_RECORDS, EBCDIC_SIGN)


def _field_bytes(data: bytes, record: int, name: str) -> bytes:
    field = LAYOUT.field(name)
    start = (record - 1) * LAYOUT.record_length + field.offset
    return data[start : start + field.size]


def test_gnucobol_with_fsign_ebcdic_overpunches_the_ebcdic_way(ebcdic_written: Written) -> None:
    data = ebcdic_written.data.read_bytes()
    # 123.45 / -123.45 / 0 in S9(5)V99; 1.05 / -1.05 in S9(5)V99 SIGN LEADING
    assert _field_bytes(data, 1, "R-AMOUNT") == b"001234E"
    assert _field_bytes(data, 2, "R-AMOUNT") == b"001234N"
    assert _field_bytes(data, 3, "R-AMOUNT") == b"000000{"
    assert _field_bytes(data, 1, "R-LEAD") == b"{000105"
    assert _field_bytes(data, 2, "R-LEAD") == b"}000105"


def test_ebcdic_overpunched_records_decode_to_the_values_moved_and_displayed(ebcdic_written: Written) -> None:
    decoder = RecordDecoder(LAYOUT, DecodeOptions(codepage=ASCII))
    data = ebcdic_written.data.read_bytes()
    length = LAYOUT.record_length
    decoded = [decoder.decode(data[i : i + length]).values for i in range(0, len(data), length)]
    assert len(decoded) == len(ALL_USAGES_RECORDS) == len(ebcdic_written.displayed)
    for number, (expected, got) in enumerate(zip(ALL_USAGES_RECORDS, decoded, strict=True), start=1):
        assert_same_values(expected, got, f"record {number}")
        assert_display_matches(got, ebcdic_written.displayed[number - 1], f"record {number}")


@pytest.fixture(scope="module")
def cli_encoded_ebcdic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The known values encoded by ``bridgeway copybook encode --zoned-sign ebcdic``."""
    workdir = tmp_path_factory.mktemp("cli-ebcdic-sign")
    copybook = workdir / "record.cpy"
    copybook.write_text(ALL_USAGES_CPY, encoding="ascii")
    source = workdir / "records.jsonl"
    source.write_text("".join(json_line(values) + "\n" for values in ALL_USAGES_RECORDS), encoding="utf-8")
    data = workdir / "records.dat"
    args = ["--copybook", str(copybook), *GNUCOBOL_CLI_LAYOUT, "--zoned-sign", "ebcdic"]
    done = bridgeway("copybook", "encode", *args, str(source), "-o", str(data), cwd=workdir)
    assert done.returncode == 0, done.stderr
    return data


def test_cli_encode_with_zoned_sign_ebcdic_writes_the_bytes_gnucobol_writes(
    cli_encoded_ebcdic: Path, ebcdic_written: Written
) -> None:
    ours, theirs = cli_encoded_ebcdic.read_bytes(), ebcdic_written.data.read_bytes()
    length = LAYOUT.record_length
    assert len(ours) == len(theirs)
    for start in range(0, len(ours), length):
        record = start // length + 1
        assert ours[start : start + length].hex(" ") == theirs[start : start + length].hex(" "), record


def test_a_program_compiled_with_fsign_ebcdic_displays_the_values_we_encoded(
    cobc: str, cli_encoded_ebcdic: Path, tmp_path: Path
) -> None:
    source = reader_source(ALL_USAGES_RECORDS[0])
    binary = compile_program(cobc, tmp_path, source, ALL_USAGES_CPY, EBCDIC_SIGN)
    displayed = run_program(binary, cli_encoded_ebcdic)
    assert_all_displayed(ALL_USAGES_RECORDS, displayed)
