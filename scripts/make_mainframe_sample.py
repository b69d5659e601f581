"""Write the mainframe sample: a claims copybook, the claims as EBCDIC records, and a result copybook.

The records hold the same 200 claims as ``models/samples/breast-cancer-claims.csv``, laid out the way a
mainframe extract would: text in EBCDIC (code page 037), the ``mean_*`` and ``worst_*`` measurements as
packed decimal (COMP-3) and the ``*_error`` ones as signed zoned decimal, fixed-length records (RECFM=FB)
of 250 bytes. The result copybook is what the demo and the tests write results as, for a COBOL program to
read back.

    .venv/bin/python scripts/make_mainframe_sample.py           # (re)write the files in models/samples/
    .venv/bin/python scripts/make_mainframe_sample.py --check   # exit 1 when the committed files differ

The output is deterministic: the same CSV always gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal
from pathlib import Path

from adapters.codecs.copybook import (
    EncodeOptions,
    Framing,
    RecordEncoder,
    RecordWriter,
    get_codepage,
    parse_copybook,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "models" / "samples"
SOURCE = SAMPLES / "breast-cancer-claims.csv"
COPYBOOK = "breast-cancer-claims.cpy"
DATA = "breast-cancer-claims.dat"
RESULT_COPYBOOK = "breast-cancer-result.cpy"
CODEPAGE = "cp037"

_PACKED = "PIC S9(5)V9(6) COMP-3"
_ZONED = "PIC S9(5)V9(6)"

RESULT_TEXT = """\
      * Result of scoring one claim with the breast-cancer model, as Bridgeway writes it.
      * Fixed-length records of 80 bytes; text and zoned numbers in the output code page.
      * Items carry the record prefix RS- (LABEL alone is a reserved word); each takes the
      * result column named like the rest of its name (RS-P-MALIGNANT <- p_malignant).
       01  RESULT-REC.
           05  RS-CLAIM-ID           PIC X(10).
           05  RS-LABEL              PIC 9.
           05  RS-P-BENIGN           PIC 9V9(6).
           05  RS-P-MALIGNANT        PIC 9V9(6).
           05  RS-MODEL-NAME         PIC X(20).
           05  RS-MODEL-VERSION      PIC X(4).
           05  RS-RECORD-NO          PIC 9(9).
           05  FILLER                PIC X(22).
"""


def cobol_name(field: str) -> str:
    return field.upper().replace("_", "-")


def copybook_text(fields: list[str]) -> str:
    """The claims copybook, in fixed reference format (code in columns 8-72)."""
    lines = [
        "      * Claims extract for breast-cancer scoring: one record per claim.",
        "      * RECFM=FB, LRECL=250, EBCDIC (code page 037).",
        "       01  CLAIM-REC.",
        "           05  CLAIM-ID              PIC X(10).",
        "           05  MEASUREMENTS.",
    ]
    for field in fields:
        usage = _ZONED if field.endswith("_error") else _PACKED
        lines.append(f"               10  {cobol_name(field):<28}{usage}.")
    lines.append("           05  FILLER                PIC X(10).")
    return "\n".join(lines) + "\n"


def read_claims() -> tuple[list[str], list[list[str]]]:
    with SOURCE.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    fields = [name.lower().replace("-", "_") for name in header[1:]]
    return fields, rows


def build() -> dict[str, bytes]:
    """File name -> bytes of every generated file."""
    fields, rows = read_claims()
    text = copybook_text(fields)
    layout = parse_copybook(text, source=COPYBOOK)
    codepage = get_codepage(CODEPAGE)
    encoder = RecordEncoder(layout, EncodeOptions(codepage=codepage))
    sink = _Buffer()
    writer = RecordWriter(sink, Framing("FB", layout.record_length), pad=codepage.encode(" "))  # type: ignore[arg-type]
    for row in rows:
        measurements = {cobol_name(f): Decimal(v) for f, v in zip(fields, row[1:], strict=True)}
        writer.write(encoder.encode({"CLAIM-ID": row[0], "MEASUREMENTS": measurements}))
    writer.close()
    parse_copybook(RESULT_TEXT, source=RESULT_COPYBOOK)  # must compile
    return {
        COPYBOOK: text.encode("ascii"),
        DATA: bytes(sink.data),
        RESULT_COPYBOOK: RESULT_TEXT.encode("ascii"),
    }


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the mainframe sample files into models/samples/.")
    parser.add_argument("--check", action="store_true", help="compare the committed files with a fresh build")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        stale = [
            name
            for name, data in files.items()
            if not (SAMPLES / name).is_file() or (SAMPLES / name).read_bytes() != data
        ]
        for name in stale:
            print(f"mismatch: models/samples/{name} differs from a fresh build", file=sys.stderr)
        return 1 if stale else 0
    for name, data in files.items():
        (SAMPLES / name).write_bytes(data)
        print(f"wrote models/samples/{name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
