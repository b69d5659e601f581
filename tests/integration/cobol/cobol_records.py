"""Shared ground for the GnuCOBOL round trips: the copybooks, the known record values, and the COBOL
programs generated from them.

One table of values drives both directions: a writer program MOVEs each value to its field, DISPLAYs it
and WRITEs the record; a reader program READs records and DISPLAYs every field. Both print the same
lines, so one parser reads either::

    === RECORD
    R-AMOUNT=-12345.67
    R-ITEMS[2].R-ITEM-QTY=-007

Labels are the codec's JSON paths (``[i]`` is 1-based, as in COBOL subscripts), so a displayed value is
looked up with the same key as a decoded one.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.codecs.copybook import LayoutOptions, get_codepage

LAUNCH = "from adapters.cli import main; main(prog_name='bridgeway')"
ASCII = get_codepage("ascii")
RECORD_MARK = "=== RECORD"

# Every usage and sign convention the codec supports for GnuCOBOL data. Free format, as the programs
# that COPY it are compiled with -free.
ALL_USAGES_CPY = """\
01 REC.
   05 R-NAME          PIC X(10).
   05 R-COUNT         PIC 9(5).
   05 R-AMOUNT        PIC S9(5)V99.
   05 R-LEAD          PIC S9(5)V99 SIGN LEADING.
   05 R-TRAIL-SEP     PIC S9(5)V99 SIGN TRAILING SEPARATE.
   05 R-LEAD-SEP      PIC S9(5)V99 SIGN LEADING SEPARATE.
   05 R-TINY          PIC S9(2) COMP.
   05 R-HALF          PIC S9(4) COMP.
   05 R-WORD          PIC S9(9) BINARY.
   05 R-LONG          PIC S9(18) COMP.
   05 R-UHALF         PIC 9(4) COMP.
   05 R-NATIVE        PIC S9(9) COMP-5.
   05 R-NATIVE-U      PIC 9(4) COMP-5.
   05 R-PACKED-ODD    PIC S9(5)V99 COMP-3.
   05 R-PACKED-EVEN   PIC S9(4)V99 PACKED-DECIMAL.
   05 R-PACKED-U      PIC 9(5) COMP-3.
   05 R-PACKED-UE     PIC 9(3)V9 COMP-3.
   05 R-SINGLE        COMP-1.
   05 R-DOUBLE        COMP-2.
   05 R-ITEMS OCCURS 3 TIMES.
      10 R-ITEM-CODE  PIC X(2).
      10 R-ITEM-QTY   PIC S9(3) COMP-3.
   05 R-ADDRESS.
      10 R-CITY       PIC X(8).
      10 R-GEO.
         15 R-LAT     PIC S9(2)V9(4).
         15 R-LON     PIC S9(3)V9(4) SIGN LEADING SEPARATE.
"""

# GnuCOBOL on x86-64 with its default dialect: COMP big-endian in 1-2-4-8 bytes, COMP-5 and floats native
# (little-endian), floats IEEE 754.
GNUCOBOL_LAYOUT = LayoutOptions(float_format="ieee", native_byte_order="little", binary_sizes="1-2-4-8")
GNUCOBOL_CLI_LAYOUT = [
    "--encoding",
    "ascii",
    "--float-format",
    "ieee",
    "--native-byte-order",
    "little",
    "--binary-sizes",
    "1-2-4-8",
]

D = Decimal


def _record(
    name: str,
    count: int,
    zoned: Sequence[str],
    binary: Sequence[int],
    packed: Sequence[str],
    floats: tuple[float, float],
    items: Sequence[tuple[str, int]],
    city: str,
    geo: tuple[str, str],
) -> dict[str, Any]:
    """One record of ``ALL_USAGES_CPY`` in the codec's JSON shape. ``zoned``: AMOUNT, LEAD, TRAIL-SEP,
    LEAD-SEP; ``binary``: TINY, HALF, WORD, LONG, UHALF, NATIVE, NATIVE-U; ``packed``: ODD, EVEN, U, UE;
    ``floats``: SINGLE, DOUBLE; ``items``: (code, qty) per occurrence."""
    amount, lead, trail_sep, lead_sep = (D(v) for v in zoned)
    tiny, half, word, long, uhalf, native, native_u = binary
    odd, even, unsigned, unsigned_even = (D(v) for v in packed)
    return {
        "R-NAME": name, "R-COUNT": count,
        "R-AMOUNT": amount, "R-LEAD": lead, "R-TRAIL-SEP": trail_sep, "R-LEAD-SEP": lead_sep,
        "R-TINY": tiny, "R-HALF": half, "R-WORD": word, "R-LONG": long, "R-UHALF": uhalf,
        "R-NATIVE": native, "R-NATIVE-U": native_u,
        "R-PACKED-ODD": odd, "R-PACKED-EVEN": even, "R-PACKED-U": int(unsigned), "R-PACKED-UE": unsigned_even,
        "R-SINGLE": floats[0], "R-DOUBLE": floats[1],
        "R-ITEMS": [{"R-ITEM-CODE": code, "R-ITEM-QTY": qty} for code, qty in items],
        "R-ADDRESS": {"R-CITY": city, "R-GEO": {"R-LAT": D(geo[0]), "R-LON": D(geo[1])}},
    }  # fmt: skip


# Positive, negative, zero, every digit at 9, and the most negative values. Floats are exactly
# representable, so "the value the program wrote" is one number, not a rounding question.
ALL_USAGES_RECORDS: list[dict[str, Any]] = [
    _record("ALPHA", 42, ["123.45", "1.05", "7.00", "98765.43"],
            [12, 1234, 123456, 1234567890123, 65, 70000, 513],
            ["12345.67", "12.34", "123", "45.6"], (1.5, 2.25),
            [("AA", 1), ("BB", 22), ("CC", 333)], "LISBON", ("38.7223", "-9.1393")),
    _record("BRAVO NEG", 7, ["-123.45", "-1.05", "-7.00", "-98765.43"],
            [-12, -1234, -123456, -1234567890123, 0, -70000, 0],
            ["-12345.67", "-12.34", "9", "0.5"], (-1024.125, -1048576.0625),
            [("X", -1), ("", -22), ("Z", 0)], "SAO PAUL", ("-23.5505", "-46.6333")),
    _record("", 0, ["0", "0", "0", "0"],
            [0, 0, 0, 0, 0, 0, 0],
            ["0", "0", "0", "0"], (0.0, 0.0),
            [("", 0), ("", 0), ("", 0)], "", ("0", "0")),
    _record("ZZZZZZZZZZ", 99999, ["99999.99"] * 4,
            [99, 9999, 999999999, 999999999999999999, 9999, 999999999, 9999],
            ["99999.99", "9999.99", "99999", "999.9"], (8388607.5, 4503599627370495.5),
            [("99", 999), ("99", 999), ("99", 999)], "ZZZZZZZZ", ("99.9999", "999.9999")),
    _record("MIN", 1, ["-99999.99"] * 4,
            [-99, -9999, -999999999, -999999999999999999, 1, -999999999, 1],
            ["-99999.99", "-9999.99", "1", "0.1"], (-8388607.5, -4503599627370495.5),
            [("A", -999), ("B", -999), ("C", -999)], "A", ("-99.9999", "-999.9999")),
]  # fmt: skip

# Text records for LINE SEQUENTIAL: no binary bytes (a byte 0x0A would end the line), text last so
# GnuCOBOL's stripping of trailing spaces shows.
TEXT_CPY = """\
01 TXT.
   05 T-ID            PIC 9(4).
   05 T-AMOUNT        PIC S9(5)V99.
   05 T-LEAD          PIC S9(3) SIGN LEADING.
   05 T-LEAD-SEP      PIC S9(3)V9 SIGN LEADING SEPARATE.
   05 T-TRAIL-SEP     PIC S9(3)V9 SIGN TRAILING SEPARATE.
   05 T-NOTE          PIC X(12).
"""

TEXT_RECORDS: list[dict[str, Any]] = [
    {"T-ID": 1, "T-AMOUNT": D("123.45"), "T-LEAD": 5, "T-LEAD-SEP": D("12.5"), "T-TRAIL-SEP": D("0.1"),
     "T-NOTE": "SHORT"},
    {"T-ID": 2, "T-AMOUNT": D("-123.45"), "T-LEAD": -5, "T-LEAD-SEP": D("-12.5"), "T-TRAIL-SEP": D("-0.1"),
     "T-NOTE": "TWELVE CHARS"},
    {"T-ID": 3, "T-AMOUNT": D("0"), "T-LEAD": 0, "T-LEAD-SEP": D("0"), "T-TRAIL-SEP": D("0"), "T-NOTE": ""},
    {"T-ID": 9999, "T-AMOUNT": D("-99999.99"), "T-LEAD": -999, "T-LEAD-SEP": D("999.9"),
     "T-TRAIL-SEP": D("-999.9"), "T-NOTE": "X"},
]  # fmt: skip


def leaves(
    values: Mapping[str, Any], prefix: str = "", subscripts: str = ""
) -> Iterator[tuple[str, str, Any]]:
    """(label, COBOL reference, value) for every elementary item of a record in the codec's JSON shape.

    The reference is the unqualified name with its subscripts: the copybooks use unique names.
    """
    for name, value in values.items():
        label = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from leaves(value, f"{label}.", subscripts)
        elif isinstance(value, list):
            for index, element in enumerate(value, start=1):
                inner = f"{subscripts}, {index}" if subscripts else str(index)
                yield from leaves(element, f"{label}[{index}].", inner)
        else:
            yield label, f"{name}({subscripts})" if subscripts else name, value


def cobol_literal(value: Any) -> str:
    """The literal a MOVE needs for ``value`` (SPACES for empty text)."""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"' if value else "SPACES"
    if isinstance(value, float):
        text = format(value, "f").rstrip("0")
        return text + "0" if text.endswith(".") else text
    return str(value)


def json_line(values: Any) -> str:
    """JSON text for a record, with Decimals as JSON numbers carrying their exact digits."""
    if isinstance(values, Mapping):
        return "{" + ", ".join(f'"{key}": {json_line(value)}' for key, value in values.items()) + "}"
    if isinstance(values, list):
        return "[" + ", ".join(json_line(value) for value in values) + "]"
    if isinstance(values, str):
        return '"' + values.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(values) if isinstance(values, float) else str(values)


def _program(name: str, copybook: str, organization: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "IDENTIFICATION DIVISION.",
            f"PROGRAM-ID. {name}.",
            "ENVIRONMENT DIVISION.",
            "INPUT-OUTPUT SECTION.",
            "FILE-CONTROL.",
            f"    SELECT DATA-FILE ASSIGN TO DYNAMIC WS-PATH ORGANIZATION IS {organization}.",
            "DATA DIVISION.",
            "FILE SECTION.",
            "FD DATA-FILE.",
            f'COPY "{copybook}".',
            "WORKING-STORAGE SECTION.",
            "01 WS-PATH PIC X(512).",
            "01 WS-EOF PIC X VALUE 'N'.",
            "PROCEDURE DIVISION.",
            '    ACCEPT WS-PATH FROM ENVIRONMENT "DATA_PATH"',
            *body,
            "    CLOSE DATA-FILE",
            "    STOP RUN.",
            "",
        ]
    )


def _displays(record: Mapping[str, Any]) -> list[str]:
    return [f'    DISPLAY "{RECORD_MARK}"'] + [
        f'    DISPLAY "{label}=" {ref}' for label, ref, _ in leaves(record)
    ]


def writer_source(
    copybook: str, records: Sequence[Mapping[str, Any]], organization: str = "SEQUENTIAL"
) -> str:
    """A program that, per record, MOVEs each value to its field, DISPLAYs the fields and WRITEs it."""
    root = copybook.split(".")[0].split()[-1]  # the 01 name: "01 REC." -> REC
    body = ["    OPEN OUTPUT DATA-FILE"]
    for record in records:
        body.append(f"    MOVE SPACES TO {root}")
        body += [f"    MOVE {cobol_literal(value)} TO {ref}" for _, ref, value in leaves(record)]
        body += _displays(record)
        body.append(f"    WRITE {root}")
    return _program("WRITER", "record.cpy", organization, body)


def reader_source(shape: Mapping[str, Any], organization: str = "SEQUENTIAL") -> str:
    """A program that READs every record and DISPLAYs each field named in ``shape`` (a record's values)."""
    body = [
        "    OPEN INPUT DATA-FILE",
        "    PERFORM UNTIL WS-EOF = 'Y'",
        "        READ DATA-FILE",
        "            AT END MOVE 'Y' TO WS-EOF",
        "            NOT AT END",
        *("        " + line for line in _displays(shape)),
        "        END-READ",
        "    END-PERFORM",
    ]
    return _program("READER", "record.cpy", organization, body)


def compile_program(cobc: str, workdir: Path, source: str, copybook: str, *flags: str) -> Path:
    """``cobc -x -free`` the program in ``workdir`` (which receives ``record.cpy``); returns the binary."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "record.cpy").write_text(copybook, encoding="ascii")
    (workdir / "program.cob").write_text(source, encoding="ascii")
    binary = workdir / "program"
    done = subprocess.run(
        [cobc, "-x", "-free", "-std=default", *flags, "-I", str(workdir), "-o", str(binary), "program.cob"],
        cwd=workdir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"cobc failed:\n{done.stderr}"
    return binary


@dataclass(frozen=True)
class Written:
    """A file a GnuCOBOL writer program produced, and what it displayed while writing it."""

    data: Path
    displayed: list[dict[str, str]]


def write_with_gnucobol(
    cobc: str,
    workdir: Path,
    copybook: str,
    records: Sequence[Mapping[str, Any]],
    *flags: str,
    organization: str = "SEQUENTIAL",
) -> Written:
    """Compiles the writer for ``records`` with ``flags`` and runs it."""
    binary = compile_program(cobc, workdir, writer_source(copybook, records, organization), copybook, *flags)
    data = workdir / "records.dat"
    return Written(data, run_program(binary, data))


def run_program(binary: Path, data_path: Path) -> list[dict[str, str]]:
    """Runs a generated program on ``data_path``; its DISPLAY output, one ``{label: text}`` per record."""
    done = subprocess.run(
        [str(binary)], env={**os.environ, "DATA_PATH": str(data_path)}, capture_output=True, timeout=60
    )
    assert done.returncode == 0, f"{binary.name} exited {done.returncode}: {done.stderr!r}"
    return parse_display(done.stdout.decode("latin-1"))


def parse_display(stdout: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for line in stdout.splitlines():
        if line == RECORD_MARK:
            records.append({})
        elif records and "=" in line:
            label, _, text = line.partition("=")
            records[-1][label] = text
    return records


def displayed_number(text: str) -> Decimal:
    """GnuCOBOL's DISPLAY of a number (``-00123.45``, ``001.50-``, ``+0012``, ``1234``) as a Decimal."""
    text = text.strip()
    if text[-1:] in "+-":
        text = text[-1] + text[:-1]
    return Decimal(text)


def assert_display_matches(expected: Mapping[str, Any], displayed: Mapping[str, str], where: str) -> None:
    """Every field the program displayed equals the value in ``expected`` (text without its padding;
    numbers as Decimals; floats to the precision GnuCOBOL prints)."""
    labels = [label for label, _, _ in leaves(expected)]
    assert sorted(displayed) == sorted(labels), f"{where}: displayed fields differ"
    for label, _, value in leaves(expected):
        text = displayed[label]
        if isinstance(value, str):
            assert text.rstrip(" ") == value, f"{where} {label}: displayed {text!r}, expected {value!r}"
        elif isinstance(value, float):
            assert math.isclose(float(text), value, rel_tol=1e-15, abs_tol=0.0), f"{where} {label}: {text!r}"
        else:
            assert displayed_number(text) == value, f"{where} {label}: displayed {text!r}, expected {value}"


def assert_all_displayed(
    expected: Sequence[Mapping[str, Any]], displayed: Sequence[Mapping[str, str]], where: str = ""
) -> None:
    """One displayed record per expected record, each matching it (``assert_display_matches``)."""
    assert len(displayed) == len(expected)
    for number, (values, shown) in enumerate(zip(expected, displayed, strict=True), start=1):
        assert_display_matches(values, shown, f"{where}record {number}")


def assert_all_decoded(expected: Sequence[Mapping[str, Any]], decoded: Sequence[Any]) -> None:
    """One decoded record per expected record, each with the same values (``assert_same_values``)."""
    assert len(decoded) == len(expected)
    for number, (values, got) in enumerate(zip(expected, decoded, strict=True), start=1):
        assert_same_values(values, got, f"record {number}")


def assert_same_values(expected: Any, got: Any, where: str) -> None:
    """Decoded values equal the known ones: same keys and list lengths, numbers equal as numbers (a JSON
    Decimal ``1.50`` equals ``Decimal('1.5')``), floats exactly."""
    if isinstance(expected, Mapping):
        assert isinstance(got, Mapping) and list(got) == list(expected), f"{where}: keys {list(got)}"
        for key, value in expected.items():
            assert_same_values(value, got[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got!r}"
        for index, (value, element) in enumerate(zip(expected, got, strict=True), start=1):
            assert_same_values(value, element, f"{where}[{index}]")
    elif isinstance(expected, str):
        assert got == expected, f"{where}: decoded {got!r}, expected {expected!r}"
    elif isinstance(expected, float):
        assert float(got) == expected, f"{where}: decoded {got!r}, expected {expected!r}"
    else:
        assert not isinstance(got, (bool, str, float)) and Decimal(got) == expected, f"{where}: {got!r}"


def bridgeway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs ``bridgeway ARGS`` to completion."""
    command = [sys.executable, "-c", LAUNCH, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)
