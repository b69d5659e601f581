"""``bridgeway copybook show | decode | encode`` from the command line, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.cli import main

COPYBOOK = """\
      * Claims handed over by the nightly batch
       01  CLAIM-REC.
           05  CLAIM-ID          PIC X(6).
           05  AMOUNT            PIC S9(5)V99 COMP-3.
           05  STATUS            PIC X.
               88  OPEN          VALUE 'O'.
           05  LINE-COUNT        PIC 9.
           05  LINES             OCCURS 0 TO 2 TIMES
                                 DEPENDING ON LINE-COUNT.
               10  CODE          PIC X(3).
"""


def ebcdic(text: str) -> bytes:
    return text.encode("cp037")


RECORD_1 = ebcdic("C00001") + bytes.fromhex("0003050c") + ebcdic("O2ABCXYZ")
RECORD_2 = ebcdic("C00002") + bytes.fromhex("0012345d") + ebcdic("C0")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["copybook", *args])


@pytest.fixture
def copybook(tmp_path: Path) -> Path:
    path = tmp_path / "claim.cpy"
    path.write_text(COPYBOOK)
    return path


def test_show_prints_the_layout_with_1_based_offsets(copybook: Path) -> None:
    result = run("show", str(copybook))
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "05 AMOUNT S9(5)V99 COMP-3 7 4" in rows
    assert "88 OPEN VALUE 'O'" in rows
    assert "05 LINES 13 3 0 TO 2 DEPENDING ON LINE-COUNT" in rows
    assert "CLAIM-REC: 18 bytes" in result.output and "1-based" in result.output


def test_decode_variable_records_writes_one_json_object_per_record(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "claims.dat"
    data.write_bytes(b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in (RECORD_1, RECORD_2)))
    out = tmp_path / "claims.jsonl"
    result = run("decode", "--copybook", str(copybook), "--record-format", "V", str(data), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        '{"CLAIM-ID":"C00001","AMOUNT":30.50,"STATUS":"O","LINE-COUNT":2,"LINES":[{"CODE":"ABC"},{"CODE":"XYZ"}]}',
        '{"CLAIM-ID":"C00002","AMOUNT":-123.45,"STATUS":"C","LINE-COUNT":0,"LINES":[]}',
    ]
    assert "decoded 2 records, rejected 0" in result.output


def test_rdw_options_read_little_endian_lengths_without_the_header(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "claims.dat"
    data.write_bytes(b"\0\0" + len(RECORD_2).to_bytes(2, "little") + RECORD_2)
    out = tmp_path / "claims.jsonl"
    result = run(
        "decode", "--copybook", str(copybook), "--record-format", "V", "--rdw-order", "little",
        "--rdw-includes-header", "false", str(data), "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"AMOUNT":-123.45' in out.read_text()


def test_a_bad_record_is_rejected_with_its_location_and_the_others_are_written(
    copybook: Path, tmp_path: Path
) -> None:
    fine = ebcdic("C00003") + bytes.fromhex("0012345a") + ebcdic("C0")  # sign nibble A is positive: valid
    bad = ebcdic("C00004") + bytes.fromhex("00123457") + ebcdic("C0")
    data = tmp_path / "claims.dat"
    data.write_bytes(b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in (RECORD_2, fine, bad)))
    out = tmp_path / "claims.jsonl"
    result = run("decode", "--copybook", str(copybook), "--record-format", "V", str(data), "-o", str(out))
    assert result.exit_code == 1
    assert (
        "rejected: record 3, field CLAIM-REC.AMOUNT at offset 6, bytes 00 12 34 57: "
        "invalid packed decimal sign (expected sign nibble C, A, E, F (+) or B, D (-), found 7) "
        "(input offset 36)"
    ) in result.output
    assert len(out.read_text().splitlines()) == 2
    assert "Traceback" not in result.output


def test_fail_policy_leaves_no_output_file(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "claims.dat"
    data.write_bytes(RECORD_2[:6] + bytes.fromhex("00123457") + RECORD_2[10:] + RECORD_2)
    out = tmp_path / "claims.jsonl"
    result = run(
        "decode",
        "--copybook",
        str(copybook),
        "--record-length",
        "12",
        "--on-error",
        "fail",
        str(data),
        "-o",
        str(out),
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: record 1, field CLAIM-REC.AMOUNT at offset 6")
    assert sorted(tmp_path.iterdir()) == sorted([copybook, data])  # no output, no temporary file left


def test_a_bad_rdw_is_reported_with_its_input_offset(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "claims.dat"
    data.write_bytes(b"\x00\x16\x00\x00" + RECORD_1 + b"\x00\x08\x01\x00")
    result = run(
        "decode", "--copybook", str(copybook), "--record-format", "V", str(data), "-o", str(tmp_path / "o")
    )
    assert result.exit_code == 1
    assert (
        "Error: input byte offset 22, bytes 00 08 01 00: spanned record segments (VS/VBS) are not supported"
        in result.output
    )


def test_a_copybook_error_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cpy"
    bad.write_text("       01  REC.\n           05  AMOUNT PIC S9(5)V9V9.\n")
    result = run("show", str(bad))
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "Error: copybook error: bad.cpy:line 2, column 34: a PICTURE holds at most one V"
    )


def test_encode_writes_records_that_decode_back_to_the_same_json(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "claims.dat"
    data.write_bytes(b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in (RECORD_1, RECORD_2)))
    decoded, encoded = tmp_path / "claims.jsonl", tmp_path / "again.dat"
    assert (
        run(
            "decode", "--copybook", str(copybook), "--record-format", "V", str(data), "-o", str(decoded)
        ).exit_code
        == 0
    )
    result = run(
        "encode", "--copybook", str(copybook), "--record-format", "V", str(decoded), "-o", str(encoded)
    )
    assert result.exit_code == 0, result.output
    assert encoded.read_bytes() == data.read_bytes()


def test_encode_ascii_text_records_with_the_chosen_zoned_sign(tmp_path: Path) -> None:
    copybook = tmp_path / "t.cpy"
    copybook.write_text("01 T. 05 ID PIC X(2). 05 DELTA PIC S9(3).\n")
    source = tmp_path / "in.jsonl"
    source.write_text('{"ID": "A", "DELTA": -12}\n{"ID": "B", "DELTA": 7}\n')
    for sign, expected in (("ascii", b"A 01r\nB 007\n"), ("ebcdic", b"A 01K\nB 00G\n")):
        out = tmp_path / f"{sign}.txt"
        args = ["encode", "--copybook", str(copybook), "--encoding", "ascii", "--record-format", "text"]
        result = run(*args, "--zoned-sign", sign, str(source), "-o", str(out))
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == expected


def test_encode_rejects_a_value_that_does_not_fit_and_writes_the_rest(copybook: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"CLAIM-ID": "C1", "AMOUNT": 123456.00, "STATUS": "O", "LINE-COUNT": 0, "LINES": []}\n'
        '{"CLAIM-ID": "C2", "AMOUNT": 1.5, "STATUS": "O", "LINE-COUNT": 0, "LINES": []}\n'
    )
    out = tmp_path / "out.dat"
    result = run("encode", "--copybook", str(copybook), str(source), "-o", str(out))
    assert result.exit_code == 1
    assert (
        "rejected: record 1, field CLAIM-REC.AMOUNT at offset 6: value does not fit the PICTURE "
        "(expected at most 7 digits (PIC S9(5)V99), found 8 digits)"
    ) in result.output
    assert len(out.read_bytes()) == 18 and out.read_bytes()[:6] == ebcdic("C2    ")


def test_unknown_encoding_is_a_usage_error_listing_the_known_pages(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "d.dat"
    data.write_bytes(RECORD_2)
    result = run(
        "decode", "--copybook", str(copybook), "--encoding", "cp9999", str(data), "-o", str(tmp_path / "o")
    )
    assert result.exit_code == 2
    assert "unknown code page 'cp9999'; known: cp037" in result.output


def test_an_output_folder_that_does_not_exist_is_a_one_line_error(copybook: Path, tmp_path: Path) -> None:
    data = tmp_path / "d.dat"
    data.write_bytes(RECORD_2)
    result = run(
        "decode", "--copybook", str(copybook), str(data), "-o", str(tmp_path / "missing" / "out.jsonl")
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: No such file or directory: ") and "Traceback" not in result.output
