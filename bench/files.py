"""File scoring: Bridgeway's file pipeline vs a hand-written pandas + onnxruntime script, in one run.

On the same 1,000,000 claims (a claim id plus the 30 breast-cancer measurements: scikit-learn's data set
resampled with 2 % noise), written once as CSV and once as EBCDIC copybook records (the layout of
``models/samples/breast-cancer-claims.cpy``), each contender runs as its own process and writes the same
CSV result (claim id, model outputs, lineage):

* ``bridgeway``: ``bridgeway score`` in-process (local mode), chunked: memory bounded by the chunk size;
* ``script``: ``bench/files_script.py``: read all, one onnxruntime call, ``DataFrame.to_csv``.

Printed per contender and size: the fastest of ``--repeat`` alternating runs (seconds, records/s) and the
highest peak RSS (``wait4``'s ``ru_maxrss`` of exactly that process); then the
time ratio (target: Bridgeway <= 1.25 x the script) and peak RSS at 250,000 vs 1,000,000 records (target:
flat for Bridgeway). The results of both contenders are compared record by record before anything is
reported.

    .venv/bin/python bench/files.py                     # 1,000,000 and 250,000 records, CSV and copybook
    .venv/bin/python bench/files.py --rows 200000 --small 50000 --formats csv
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "models" / "samples"
LAUNCH = "from adapters.cli import main; main(prog_name='bridgeway')"


@dataclass(frozen=True)
class Run:
    contender: str
    fmt: str
    rows: int
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def measure(command: list[str], folder: Path) -> tuple[float, float]:
    """Run ``command`` to completion: (wall seconds, peak RSS in MiB of that process).

    The process is started by a small launcher process (``_PEAK``): a child forked straight from this
    (large) benchmark process would report this process's memory as its own peak, because Linux carries the
    parent's high-water mark into the child through fork and exec.
    """
    rss_file = folder / "peak-rss-kib.txt"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(rss_file), *command],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, int(rss_file.read_text()) / 1024


# Runs argv[2:], waits for it with wait4 and writes its own ru_maxrss (KiB) to argv[1]; exits with its status.
_PEAK = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


# ------------------------------------------------------------------------------------------------- data


def measurements(rows: int, seed: int = 7) -> np.ndarray:
    """``rows`` x 30 measurements as integers in millionths (six decimals, the copybook's scale)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data
    rng = np.random.default_rng(seed)
    picked = data[rng.integers(0, len(data), rows)] * (1 + rng.normal(0, 0.02, (rows, data.shape[1])))
    return np.clip(np.rint(picked * 1e6), 0, 99_999_999_999).astype(np.int64)


def write_csv(path: Path, ids: np.ndarray, values: np.ndarray, header: list[str]) -> None:
    whole, fraction = np.divmod(values, 1_000_000)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, len(ids), 100_000):
            stop = start + 100_000
            w, f = whole[start:stop].tolist(), fraction[start:stop].tolist()
            lines = (
                ids[i] + "," + ",".join(f"{a}.{b:06d}" for a, b in zip(w[k], f[k], strict=True))
                for k, i in enumerate(range(start, min(stop, len(ids))))
            )
            handle.write("\n".join(lines) + "\n")


def write_copybook_records(path: Path, ids: np.ndarray, values: np.ndarray, header: list[str]) -> None:
    """EBCDIC FB records of the sample layout: X(10) id, COMP-3 and zoned S9(5)V9(6), X(10) filler."""
    table = bytes(range(256)).decode("latin-1").encode("cp037")
    parts = [
        np.frombuffer("".join(ids.tolist()).encode("latin-1").translate(table), np.uint8).reshape(-1, 10)
    ]
    powers = 10 ** np.arange(10, -1, -1, dtype=np.int64)
    for i, name in enumerate(header[1:]):
        digits = (values[:, i : i + 1] // powers) % 10
        if name.lower().replace("-", "_").endswith("_error"):
            zoned = (0xF0 | digits).astype(np.uint8)
            zoned[:, -1] = 0xC0 | digits[:, -1]  # positive sign overpunched on the last digit
            parts.append(zoned)
        else:
            nibbles = np.concatenate([digits, np.full((len(ids), 1), 0x0C)], axis=1)
            parts.append(((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8))
    parts.append(np.full((len(ids), 10), 0x40, np.uint8))
    np.concatenate(parts, axis=1).tofile(path)


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """The CSV and the copybook file with the same ``rows`` records (reused when already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, dat_path = folder / f"claims-{rows}.csv", folder / f"claims-{rows}.dat"
    if csv_path.exists() and dat_path.exists():
        return csv_path, dat_path
    with (SAMPLES / "breast-cancer-claims.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    ids = np.array([f"C{i:09d}" for i in range(1, rows + 1)])
    values = measurements(rows)
    write_csv(csv_path, ids, values, header)
    write_copybook_records(dat_path, ids, values, header)
    return csv_path, dat_path


# ------------------------------------------------------------------------------------------------- runs


def run_bridgeway(fmt: str, source: Path, target: Path, chunk_rows: int) -> tuple[float, float]:
    command = [
        sys.executable,
        "-c",
        LAUNCH,
        "score",
        str(source),
        "-o",
        str(target),
        "--model",
        "breast-cancer",
        "--models",
        str(ROOT / "models"),
        "--carry",
        "claim_id",
        "--output-format",
        "csv",
        "--chunk-rows",
        str(chunk_rows),
        "--no-progress",
    ]
    if fmt == "fixed":
        command += ["--copybook", str(SAMPLES / "breast-cancer-claims.cpy"), "--record-format", "FB"]
    return measure(command, target.parent)


def run_script(fmt: str, source: Path, target: Path) -> tuple[float, float]:
    script = [sys.executable, str(ROOT / "bench" / "files_script.py"), fmt, str(source), str(target)]
    return measure(script, target.parent)


def agree(ours: Path, theirs: Path) -> int:
    """Compare both results record by record (claim id, label, probabilities); returns the count."""
    with ours.open(encoding="utf-8") as a, theirs.open(encoding="utf-8") as b:
        count = 0
        for left, right in zip(csv.DictReader(a), csv.DictReader(b), strict=True):
            same = left["claim_id"] == right["claim_id"] and left["label"] == right["label"]
            close = abs(float(left["p_malignant"]) - float(right["p_malignant"])) <= 1e-6
            if not (same and close and left["record_no"] == right["record_no"]):
                raise SystemExit(f"results differ at record {count + 1}: {left} vs {right}")
            count += 1
    return count


def bench(fmt: str, rows: int, folder: Path, chunk_rows: int, repeat: int) -> tuple[Run, Run]:
    """Both contenders ``repeat`` times, alternating, so that load from elsewhere hits both alike; the
    fastest time and the highest peak RSS of each are kept."""
    csv_path, dat_path = generate(rows, folder)
    source = csv_path if fmt == "csv" else dat_path
    ours, theirs = folder / f"bridgeway-{fmt}-{rows}.csv", folder / f"script-{fmt}-{rows}.csv"
    script: list[tuple[float, float]] = []
    bridgeway: list[tuple[float, float]] = []
    for _ in range(repeat):
        script.append(run_script(fmt, source, theirs))
        bridgeway.append(run_bridgeway(fmt, source, ours, chunk_rows))
    if agree(ours, theirs) != rows:
        raise SystemExit(f"{fmt}: a result holds fewer than {rows} records")
    for path in (ours, theirs):
        path.unlink()
    (ours_s, ours_rss), (theirs_s, theirs_rss) = (
        (min(s for s, _ in runs), max(m for _, m in runs)) for runs in (bridgeway, script)
    )
    return Run("bridgeway", fmt, rows, ours_s, ours_rss), Run("script", fmt, rows, theirs_s, theirs_rss)


def report(runs: list[Run], rows: int, small: int) -> None:
    columns = ("contender", "format", "records", "seconds", "records/s", "peak RSS MiB")
    print("\n{:<10} {:<7} {:>10} {:>8} {:>10} {:>13}".format(*columns))
    for run in runs:
        print(
            f"{run.contender:<10} {run.fmt:<7} {run.rows:>10,} {run.seconds:>8.2f} {run.rate:>10,.0f} "
            f"{run.peak_rss_mb:>13.0f}"
        )
    by = {(r.contender, r.fmt, r.rows): r for r in runs}
    print()
    for fmt in sorted({r.fmt for r in runs}):
        ours, theirs = by[("bridgeway", fmt, rows)], by[("script", fmt, rows)]
        ratio = ours.seconds / theirs.seconds
        verdict = "meets" if ratio <= 1.25 else "MISSES"
        print(
            f"{fmt}: Bridgeway takes {ratio:.2f} x the script's time at {rows:,} records ({verdict} <= 1.25)"
        )
        for contender in ("bridgeway", "script"):
            low, high = by[(contender, fmt, small)], by[(contender, fmt, rows)]
            print(
                f"{fmt}: {contender} peak RSS {low.peak_rss_mb:.0f} MiB at {small:,} records, "
                f"{high.peak_rss_mb:.0f} MiB at {rows:,} ({high.peak_rss_mb / low.peak_rss_mb:.2f} x)"
            )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=250_000, help="second size, to show memory stays flat")
    parser.add_argument("--formats", default="csv,fixed", help="csv, fixed or both (comma-separated)")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per contender and size (fastest kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "files")
    args = parser.parse_args(argv)
    machine = cpu_model()
    print(
        f"bench/files.py  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {machine}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    runs: list[Run] = []
    for fmt in args.formats.split(","):
        for rows in (args.small, args.rows):
            runs += bench(fmt, rows, args.out, args.chunk_rows, args.repeat)
            print(f"  {fmt} {rows:,}: done", flush=True)
    report(runs, args.rows, args.small)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
