"""GnuCOBOL round trips through the block codec (``compile_layout``), the fast path the pipelines use.

The same programs and values as the reference-path round trips: GnuCOBOL writes every usage and sign
convention (default and IBM binary sizes, ASCII and ``-fsign=EBCDIC`` overpunch, fixed and LINE SEQUENTIAL
records) and the block codec must decode them to the values moved and displayed, with no record handed to
the reference; the block encoder must write GnuCOBOL's bytes exactly, and a COBOL program must read them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.codecs.copybook import DecodeOptions, EncodeOptions, Framing, LayoutOptions, RecordReader
from adapters.codecs.copybook.compiled import BlockCodec, compile_layout
from adapters.codecs.copybook.parser import parse_copybook
from tests.integration.cobol.cobol_records import (
    ALL_USAGES_CPY,
    ALL_USAGES_RECORDS,
    ASCII,
    GNUCOBOL_LAYOUT,
    TEXT_CPY,
    TEXT_RECORDS,
    Written,
    assert_all_displayed,
    assert_display_matches,
    assert_same_values,
    compile_program,
    reader_source,
    run_program,
    write_with_gnucobol,
)

EBCDIC_SIGN = "-fsign=EBCDIC"
# flags the writer is compiled with -> layout options that read its file, and the ASCII sign convention
WRITERS = {
    "default": ((), GNUCOBOL_LAYOUT, "ascii"),
    "binary-size-2-4-8": (
        ("-fbinary-size=2-4-8",),
        dataclasses.replace(GNUCOBOL_LAYOUT, binary_sizes="2-4-8"),
        "ascii",
    ),
    "sign-ebcdic": ((EBCDIC_SIGN,), GNUCOBOL_LAYOUT, "ebcdic"),
}


def _codec(copybook: str, layout_options: LayoutOptions, zoned_sign: str) -> BlockCodec:
    return compile_layout(
        parse_copybook(copybook, layout_options),
        decode=DecodeOptions(codepage=ASCII),
        encode=EncodeOptions(codepage=ASCII, zoned_sign=zoned_sign),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module", params=list(WRITERS))
def written(
    request: pytest.FixtureRequest, cobc: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Written, BlockCodec]:
    flags, layout_options, zoned_sign = WRITERS[request.param]
    workdir = tmp_path_factory.mktemp(f"block-{request.param}")
    files = write_with_gnucobol(cobc, workdir, ALL_USAGES_CPY, ALL_USAGES_RECORDS, *flags)
    return request.param, files, _codec(ALL_USAGES_CPY, layout_options, zoned_sign)


def test_the_block_codec_decodes_gnucobol_records_to_the_values_moved_and_displayed(
    written: tuple[str, Written, BlockCodec],
) -> None:
    name, files, codec = written
    columns = codec.decode(files.data.read_bytes())
    assert columns.n == len(ALL_USAGES_RECORDS) == len(files.displayed)
    assert not columns.resolved_mask().any(), "every record should decode on the vectorised path"
    for number, (expected, got) in enumerate(zip(ALL_USAGES_RECORDS, columns.records(), strict=True), 1):
        assert_same_values(expected, got, f"{name}: record {number}")
        assert_display_matches(got, files.displayed[number - 1], f"{name}: record {number}")


def test_the_block_encoder_writes_gnucobols_bytes_from_values_and_from_decoded_columns(
    written: tuple[str, Written, BlockCodec],
) -> None:
    name, files, codec = written
    theirs = files.data.read_bytes()
    from_values = codec.encode_records(ALL_USAGES_RECORDS)
    from_columns = codec.encode(codec.decode(theirs))
    assert not from_values.fallback.any() and not from_columns.fallback.any()
    length = codec.record_length
    for ours in (from_values.data, from_columns.data):
        assert len(ours) == len(theirs)
        for start in range(0, len(ours), length):
            assert ours[start : start + length].hex(" ") == theirs[start : start + length].hex(" "), (
                f"{name}: record {start // length + 1}"
            )


def test_cobol_reads_back_what_the_block_encoder_wrote(
    written: tuple[str, Written, BlockCodec], cobc: str, tmp_path: Path
) -> None:
    name, _, codec = written
    flags = WRITERS[name][0]
    binary = compile_program(cobc, tmp_path, reader_source(ALL_USAGES_RECORDS[0]), ALL_USAGES_CPY, *flags)
    data = tmp_path / "records.dat"
    data.write_bytes(codec.encode_records(ALL_USAGES_RECORDS).data)
    displayed = run_program(binary, data)
    assert_all_displayed(ALL_USAGES_RECORDS, displayed, f"{name}: ")


def test_line_sequential_records_shortened_by_gnucobol_decode_through_the_block_codec(
    cobc: str, tmp_path: Path
) -> None:
    files = write_with_gnucobol(cobc, tmp_path, TEXT_CPY, TEXT_RECORDS, organization="LINE SEQUENTIAL")
    codec = _codec(TEXT_CPY, GNUCOBOL_LAYOUT, "ascii")
    with files.data.open("rb") as handle:
        records = [raw.data for raw in RecordReader(handle, Framing("text", codec.record_length))]
    assert any(len(r) < codec.record_length for r in records), "no line was shortened: nothing tested"
    columns = codec.decode_records(records)
    for number, (expected, got) in enumerate(zip(TEXT_RECORDS, columns.records(), strict=True), start=1):
        assert_same_values(expected, got, f"record {number}")
        assert_display_matches(got, files.displayed[number - 1], f"record {number}")
