"""Copybook codec: Bridgeway's block codec vs per-record Python decoders, in one run.

Two layouts of 200 bytes, written here as copybooks:

* ``mixed`` (``TXN-REC``, cp037): text, zoned ``S9(n)V99`` DISPLAY, COMP-3 ``S9(n)V99`` and ``S9(n)``,
  binary COMP ``S9(4)``/``S9(9)``/``S9(18)`` and an ``OCCURS 6`` of packed decimals. Contenders:
  Bridgeway's block codec (``compile_layout(...).decode`` to columns, ``.encode`` from them) and
  ``bench/copybook_baseline.py``, a per-record, per-field decoder as in-house scripts write it.
* ``display`` (``DISP-REC``, ASCII): only ``PIC X``, ``PIC 9`` and ``S9 SIGN LEADING SEPARATE``, what the
  ``copybook`` package (the ``bench`` extra) can read; it parses the copybook and each field is sliced from
  the record text and converted by its ``Field.parse``, the way its documentation shows.

The records are generated deterministically (numpy, fixed seed) as columns and encoded by Bridgeway's
encoder; a sample is checked against the reference decoder, and every contender's values are compared with
Bridgeway's on a sample before anything is timed. Bridgeway decodes and encodes all ``--records``; the
per-record decoders run on ``--baseline-records`` (their cost is linear in the records). Each measurement is
the best of ``--repeat`` runs, on one core (numpy's threads pinned to one), in wall time
(``time.perf_counter``) and in this process's CPU time (``time.process_time``, steadier on a busy machine;
the ratios use it).

Decoding gives text columns lazily (their ``str`` values are built on first use), so Bridgeway's decode is
reported twice: to columns, and to columns with every text value built. Targets (mixed layout):
decode >= 1,000,000 records/s, encode >= 500,000 records/s.

    .venv/bin/python bench/copybook.py                          # 1,000,000 records
    .venv/bin/python bench/copybook.py --records 200000 --json bench/out/copybook.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core, as the targets are stated

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import copybook_baseline  # noqa: E402

from adapters.codecs.copybook import (  # noqa: E402
    DecodeOptions,
    EncodeOptions,
    Field,
    Kind,
    Layout,
    RecordDecoder,
    get_codepage,
    parse_copybook,
)
from adapters.codecs.copybook.compiled import BlockCodec, compile_layout  # noqa: E402

MIXED = """\
       01 TXN-REC.
          05 TXN-ID          PIC X(12).
          05 ACCOUNT-NO      PIC 9(10).
          05 CUSTOMER-NAME   PIC X(30).
          05 BRANCH          PIC S9(4) COMP.
          05 SEQ-NO          PIC S9(9) COMP.
          05 REF-NO          PIC S9(18) COMP.
          05 AMOUNT          PIC S9(9)V99 COMP-3.
          05 BALANCE         PIC S9(11)V99.
          05 FEE             PIC S9(5)V99.
          05 QTY             PIC S9(7) COMP-3.
          05 RATE            PIC S9(3)V9(4) COMP-3.
          05 CURRENCY        PIC X(3).
          05 DESCRIPTION     PIC X(40).
          05 MONTHLY         PIC S9(7)V99 COMP-3 OCCURS 6 TIMES.
          05 STATUS-CODE     PIC X.
          05 POST-DATE       PIC 9(8).
          05 BRANCH-CODE     PIC X(6).
          05 TAX             PIC S9(7)V99 COMP-3.
          05 CHANNEL         PIC X(7).
"""

# Unsigned decimals only: the copybook package reads a signed decimal's digits one position off.
DISPLAY = """\
       01 DISP-REC.
          05 CUST-ID         PIC X(10).
          05 CUST-NAME       PIC X(30).
          05 ACCOUNT-NO      PIC 9(10).
          05 BALANCE         PIC 9(9)V99.
          05 QTY             PIC S9(7) SIGN LEADING SEPARATE.
          05 CURRENCY        PIC X(3).
          05 OPEN-DATE       PIC 9(8).
          05 ADDRESS-LINE    PIC X(40).
          05 FEE             PIC 9(5)V99.
          05 NOTES           PIC X(40).
          05 RATE            PIC 9(3)V9(4).
          05 REF-NO          PIC 9(18).
          05 CHANNEL         PIC X(8).
"""

DECODE_TARGET = 1_000_000
ENCODE_TARGET = 500_000
SEED = 20261125
ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "))


@dataclass(frozen=True)
class Row:
    system: str
    layout: str
    operation: str
    records: int
    seconds: float  # wall clock, best run
    cpu_seconds: float  # this process's CPU time, best run: steadier than wall time on a busy machine
    baseline: float | None = None  # records/s of the layout's baseline, CPU time
    target: float | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.records / self.cpu_seconds

    @property
    def ratio(self) -> float | None:
        return self.cpu_rate / self.baseline if self.baseline else None

    def verdict(self, rate: float) -> str:
        if self.target is None:
            return "-"
        return "PASS" if rate >= self.target else "MISS"


@dataclass(frozen=True)
class Subject:
    """A layout with its Bridgeway codec and generated records."""

    name: str
    layout: Layout
    codec: BlockCodec
    data: bytes
    n: int


def texts(rng: np.random.Generator, width: int, n: int, pool: int = 4096) -> np.ndarray:
    """``n`` strings of up to ``width`` characters drawn from a pool of random ones."""
    lengths = rng.integers(max(1, width // 3), width + 1, size=pool)
    chars = ALPHABET[rng.integers(0, len(ALPHABET) - 1, size=(pool, width))]
    words = np.array(["".join(row[:k]) for row, k in zip(chars, lengths, strict=True)])
    return words[rng.integers(0, pool, size=n)]


def numbers(rng: np.random.Generator, field: Field, shape: tuple[int, ...]) -> np.ndarray:
    """Unscaled integers that fit ``field``'s digits (18-digit fields kept within int64)."""
    top = 10 ** min(field.digits, 18) - 1
    low = -top if field.signed else 0
    return rng.integers(low, top, size=shape, endpoint=True, dtype=np.int64)


def columns(layout: Layout, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for field in layout.fields:
        shape = (n, *(d.count for d in field.dims))
        if field.kind is Kind.ALNUM:
            out[field.qualified_name] = texts(rng, field.size, n)
        else:
            out[field.qualified_name] = numbers(rng, field, shape)
    return out


def subject(name: str, copybook: str, codepage: str, n: int) -> Subject:
    """Compile ``copybook`` and encode ``n`` generated records with Bridgeway's encoder."""
    layout = parse_copybook(copybook)
    page = get_codepage(codepage)
    codec = compile_layout(layout, decode=DecodeOptions(codepage=page), encode=EncodeOptions(codepage=page))
    rng = np.random.default_rng(SEED)
    parts = []
    for start in range(0, n, 100_000):
        block = codec.encode(columns(layout, min(100_000, n - start), rng))
        if block.errors:
            raise SystemExit(f"generating {name} records: {block.errors[0]}")
        parts.append(block.data)
    data = b"".join(parts)
    reference = RecordDecoder(layout, DecodeOptions(codepage=page))
    sample = codec.decode(data[: 1000 * layout.record_length])
    for i in range(0, 1000, 37):
        record = data[i * layout.record_length : (i + 1) * layout.record_length]
        if reference.decode(record).values != sample.record(i).values:
            raise SystemExit(f"{name}: record {i + 1} decodes differently on the block and reference paths")
    return Subject(name, layout, codec, data, n)


def best(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of ``action``: (wall seconds, CPU seconds of this process)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def pypi_copybook() -> ModuleType:
    """The ``copybook`` package, imported past this file (whose name would shadow it)."""
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    try:
        return importlib.import_module("copybook")
    finally:
        sys.path[:] = saved


Spans = list[tuple[str, int, int, Callable[[str], Any]]]


def pypi_spans(copybook: str) -> Spans:
    """Each field's name, text span and ``parse`` from the package's parse of ``copybook``.

    The spans are computed once, which spares the package its per-record ``get_total_length`` walks.
    """
    package = pypi_copybook()
    root = package.parse_string(copybook)
    fields = [f for f in root.flatten() if isinstance(f, package.Field)]
    return [(f.name, f.start_pos, f.start_pos + f.get_total_length(), f.parse) for f in fields]


def pypi_decode(spans: Spans, data: bytes, length: int) -> list[dict[str, Any]]:
    text = data.decode("ascii")
    out = []
    for start in range(0, len(text), length):
        record = text[start : start + length]
        out.append({name: parse(record[lo:hi]) for name, lo, hi, parse in spans})
    return out


def same_as_ours(name: str, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Raise ``SystemExit`` unless a contender's record matches ours (text compared without trailing
    blanks, which the package keeps; its decimals are floats and must be the nearest float to ours)."""
    for key, value in ours.items():
        other = theirs.get(key)
        if isinstance(other, str):
            other = other.rstrip(" \x00")
        if isinstance(other, float):
            value = float(value)
        if other != value:
            raise SystemExit(f"{name}: field {key} is {other!r}, Bridgeway decodes {value!r}")


def check(sub: Subject, name: str, decode: Callable[[bytes], list[dict[str, Any]]]) -> None:
    """Compare ``decode``'s values of the first records with Bridgeway's."""
    count = min(sub.n, 2000)
    ours = sub.codec.decode(sub.data[: count * sub.layout.record_length]).records()
    theirs = decode(sub.data[: count * sub.layout.record_length])
    for mine, other in zip(ours, theirs, strict=True):
        same_as_ours(name, mine, other)


def materialised(sub: Subject) -> Any:
    """Decode every record and build every text column's ``str`` values."""
    decoded = sub.codec.decode(sub.data)
    for column in decoded.values():
        _ = column.values
    return decoded


def bridgeway_rows(sub: Subject, baseline: float, repeat: int) -> list[Row]:
    """Decode (lazy text, then all text built) and encode of every record; encode must give the input."""
    decoded = materialised(sub)
    encoded = sub.codec.encode(decoded)
    if encoded.errors or encoded.data != sub.data:
        raise SystemExit(f"{sub.name}: encoding the decoded columns does not give the records back")
    times = {
        "decode": best(lambda: sub.codec.decode(sub.data), repeat),
        "decode, text as str": best(lambda: materialised(sub), repeat),
        "encode": best(lambda: sub.codec.encode(decoded), repeat),
    }
    return [
        Row(
            "bridgeway",
            sub.name,
            operation,
            sub.n,
            *seconds,
            baseline,
            ENCODE_TARGET if operation == "encode" else DECODE_TARGET,
        )
        for operation, seconds in times.items()
    ]


def contender_row(
    sub: Subject, system: str, decode: Callable[[bytes], object], count: int, repeat: int
) -> Row:
    part = sub.data[: count * sub.layout.record_length]
    return Row(system, sub.name, "decode", count, *best(lambda: decode(part), repeat))


def run(records: int, baseline_records: int, repeat: int) -> list[Row]:
    count = min(records, baseline_records)
    mixed = subject("mixed", MIXED, "cp037", records)
    check(mixed, "baseline", copybook_baseline.decode_file)
    script = contender_row(mixed, "baseline script", copybook_baseline.decode_file, count, repeat)
    display = subject("display", DISPLAY, "ascii", records)
    spans = pypi_spans(DISPLAY)
    length = display.layout.record_length

    def package(data: bytes) -> list[dict[str, Any]]:
        return pypi_decode(spans, data, length)

    check(display, "copybook package", package)
    pypi = contender_row(display, "copybook package", package, count, repeat)
    rows = [Row(**{**asdict(script), "baseline": script.cpu_rate})]
    rows += bridgeway_rows(mixed, script.cpu_rate, repeat)
    rows.append(Row(**{**asdict(pypi), "baseline": pypi.cpu_rate}))
    rows += bridgeway_rows(display, pypi.cpu_rate, repeat)
    return rows


def table(rows: list[Row]) -> str:
    """Markdown table; ratios use CPU time, targets are judged on wall time and on CPU time."""
    lines = [
        "| system | layout | operation | records | wall s | records/s | CPU s | records/s (CPU) "
        "| ratio to baseline (CPU) | target: wall / CPU |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:,.1f} x" if r.ratio is not None else "-"
        target = "-"
        if r.target:
            target = f"{r.verdict(r.rate)} / {r.verdict(r.cpu_rate)} (>= {r.target:,.0f})"
        lines.append(
            f"| {r.system} | {r.layout} | {r.operation} | {r.records:,} | {r.seconds:.3f} | {r.rate:,.0f} "
            f"| {r.cpu_seconds:.3f} | {r.cpu_rate:,.0f} | {ratio} | {target} |"
        )
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], before: dict[str, Any], after: dict[str, Any]) -> None:
    report: dict[str, Any] = {"machine": after, "load_average_before": before["load_average"], "rows": []}
    for r in rows:
        report["rows"].append(
            {
                **asdict(r),
                "rate": r.rate,
                "cpu_rate": r.cpu_rate,
                "ratio_cpu": r.ratio,
                "verdict_wall": r.verdict(r.rate),
                "verdict_cpu": r.verdict(r.cpu_rate),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records decoded and encoded")
    parser.add_argument(
        "--baseline-records", type=int, default=50_000, help="records for the per-record decoders"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.records < 1 or args.baseline_records < 1 or args.repeat < 1:
        parser.error("--records, --baseline-records and --repeat must be at least 1")
    before = machine()
    rows = run(args.records, args.baseline_records, args.repeat)
    after = machine()
    print(f"{after['cpu']}, {after['cpus']} CPUs, Python {after['python']}, numpy {after['numpy']}")
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    print(table(rows))
    if args.json:
        write_json(args.json, rows, before, after)


if __name__ == "__main__":
    main()
