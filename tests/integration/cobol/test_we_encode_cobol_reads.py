"""Bridgeway encodes records, GnuCOBOL reads them.

Records are encoded from the known values (Python encoder, and ``bridgeway copybook encode`` from JSON
Lines); a generated program READs each record and DISPLAYs every field, and the displayed values must be
ours. The encoding is also compared byte for byte with the file a GnuCOBOL program writes from the same
values: a COBOL reader tolerates some differences (an unsigned packed sign nibble, a space in a number)
that a byte comparison does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.codecs.copybook import (
    EncodeOptions,
    Framing,
    RecordEncoder,
    RecordFormat,
    RecordWriter,
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
    assert_all_displayed,
    bridgeway,
    compile_program,
    json_line,
    reader_source,
    run_program,
)


def encode_file(path: Path, copybook: str, records: list[dict], record_format: RecordFormat = "F") -> Path:
    """Writes ``records`` with the Python encoder (ASCII, GnuCOBOL's ``ascii`` zoned signs)."""
    layout = parse_copybook(copybook, GNUCOBOL_LAYOUT)
    encoder = RecordEncoder(layout, EncodeOptions(codepage=ASCII, zoned_sign="ascii"))
    with path.open("wb") as handle:
        writer = RecordWriter(handle, Framing(record_format, layout.record_length))
        for number, values in enumerate(records, start=1):
            writer.write(encoder.encode(values, number))
        writer.close()
    return path


def test_cobol_displays_every_field_of_records_the_python_encoder_wrote(reader: Path, tmp_path: Path) -> None:
    data = encode_file(tmp_path / "records.dat", ALL_USAGES_CPY, ALL_USAGES_RECORDS)
    displayed = run_program(reader, data)
    assert_all_displayed(ALL_USAGES_RECORDS, displayed)


def test_cobol_displays_every_field_of_records_the_cli_encoded_from_json_lines(
    reader: Path, tmp_path: Path
) -> None:
    copybook = tmp_path / "record.cpy"
    copybook.write_text(ALL_USAGES_CPY, encoding="ascii")
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json_line(values) + "\n" for values in ALL_USAGES_RECORDS), encoding="utf-8")
    data = tmp_path / "records.dat"
    args = ["--copybook", str(copybook), *GNUCOBOL_CLI_LAYOUT, "--zoned-sign", "ascii"]
    done = bridgeway("copybook", "encode", *args, str(source), "-o", str(data), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    displayed = run_program(reader, data)
    assert_all_displayed(ALL_USAGES_RECORDS, displayed)


def test_the_python_encoder_writes_the_bytes_gnucobol_writes_for_the_same_values(
    gnucobol_written: Written, tmp_path: Path
) -> None:
    ours = encode_file(tmp_path / "records.dat", ALL_USAGES_CPY, ALL_USAGES_RECORDS).read_bytes()
    theirs = gnucobol_written.data.read_bytes()
    length = parse_copybook(ALL_USAGES_CPY, GNUCOBOL_LAYOUT).record_length
    for start in range(0, max(len(ours), len(theirs)), length):
        number = start // length + 1
        assert ours[start : start + length].hex(" ") == theirs[start : start + length].hex(" "), number


def test_cobol_reads_line_sequential_records_the_python_encoder_wrote(
    cobc: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("reader-line-sequential")
    source = reader_source(TEXT_RECORDS[0], organization="LINE SEQUENTIAL")
    binary = compile_program(cobc, workdir, source, TEXT_CPY)
    data = encode_file(workdir / "records.txt", TEXT_CPY, TEXT_RECORDS, record_format="text")
    displayed = run_program(binary, data)
    assert_all_displayed(TEXT_RECORDS, displayed)
