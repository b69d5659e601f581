"""Tables and target verdicts for bench/gateway.py (DESIGN.md, "Performance targets").

Targets, as ratios of rows/s measured in the same run (with several rounds: the median of the ratios of
rows/s measured in the same round):

* T1: every cell, ``bridgeway serve`` with batching off >= 0.9 x the bare server;
* T2: batching on, the ~3M-parameter model at batch 1 x 32 callers >= 1.5 x the bare server;
* T3: every batch-1024 cell, each ``bridgeway serve`` variant >= 0.5 x in-process onnxruntime.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway_measure import Cell

ORT, BARE, OFF, ON = "onnxruntime", "bare", "bridgeway-off", "bridgeway-on"
MLSERVER, BARE_AIO, BARE_BATCHING = "mlserver", "bare-aio", "bare-batching"
SYSTEM_ORDER = (ORT, BARE, OFF, ON, BARE_AIO, BARE_BATCHING, MLSERVER)
BIG_MODEL = "mlp-3m"


@dataclass(frozen=True)
class Verdict:
    """One target checked on one cell."""

    target: str
    model: str
    batch: int
    callers: int
    ratio: float
    floor: float

    @property
    def passed(self) -> bool:
        return self.ratio >= self.floor

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "passed": self.passed}


Key = tuple[str, int, int]


def by_cell(cells: Iterable[Cell]) -> dict[Key, dict[str, Cell]]:
    table: dict[Key, dict[str, Cell]] = {}
    for cell in cells:
        table.setdefault((cell.model, cell.batch, cell.callers), {})[cell.system] = cell
    return table


def _ratio(systems: dict[str, Cell], top: str, bottom: str) -> float:
    """``top``'s rows/s over ``bottom``'s: the median of the per-round ratios where both were measured in
    the same rounds (each round measures every system back to back, so a pair shares the machine's load of
    that moment), else the ratio of the cells' rows/s."""
    if top not in systems or bottom not in systems or not systems[bottom].rows_per_s:
        return math.nan
    above, below = systems[top].rounds, systems[bottom].rounds
    if len(above) > 1 and len(above) == len(below) and all(below):
        return statistics.median(a / b for a, b in zip(above, below, strict=True))
    return systems[top].rows_per_s / systems[bottom].rows_per_s


def verdicts(cells: Iterable[Cell]) -> list[Verdict]:
    found = []
    for (model, batch, callers), systems in by_cell(cells).items():
        checks = [("T1 off/bare", OFF, BARE, 0.9)]
        if model == BIG_MODEL and batch == 1 and callers == 32:
            checks.append(("T2 on/bare", ON, BARE, 1.5))
        if batch == 1024:
            checks += [("T3 off/onnxruntime", OFF, ORT, 0.5), ("T3 on/onnxruntime", ON, ORT, 0.5)]
        for target, top, bottom, floor in checks:
            ratio = _ratio(systems, top, bottom)
            if not math.isnan(ratio):
                found.append(Verdict(target, model, batch, callers, ratio, floor))
    return found


def _throughput(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    text = f"{cell.rows_per_s:,.0f} ({cell.p50_ms:.2f}/{cell.p99_ms:.2f})"
    return text + (" ERR" if cell.problems else "")


def _mark(value: float, floor: float | None) -> str:
    if math.isnan(value):
        return "-"
    if floor is None:
        return f"{value:.2f}"
    return f"{value:.2f} {'PASS' if value >= floor else 'MISS'}"


def results_table(cells: list[Cell]) -> str:
    """Markdown: one row per (model, batch, callers); rows/s (p50/p99 ms) per system, then the ratios."""
    present = [s for s in SYSTEM_ORDER if any(c.system == s for c in cells)]
    head = ["model", "batch", "callers", *present, "off/bare", "on/bare", "off/ort", "on/ort", "bare/ort"]
    extra = [s for s in (BARE_AIO, BARE_BATCHING, MLSERVER) if s in present]
    head += [f"{s}/bare" for s in extra]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (model, batch, callers), systems in by_cell(cells).items():
        big1x32 = model == BIG_MODEL and batch == 1 and callers == 32
        row = [model, str(batch), str(callers), *(_throughput(systems.get(s)) for s in present)]
        row += [
            _mark(_ratio(systems, OFF, BARE), 0.9),
            _mark(_ratio(systems, ON, BARE), 1.5 if big1x32 else None),
            _mark(_ratio(systems, OFF, ORT), 0.5 if batch == 1024 else None),
            _mark(_ratio(systems, ON, ORT), 0.5 if batch == 1024 else None),
            _mark(_ratio(systems, BARE, ORT), None),
        ]
        row += [_mark(_ratio(systems, s, BARE), None) for s in extra]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


# target -> (system, the system it is divided by, its name in the summary): the floor of a missed cell
_FLOOR_BASELINES = {
    "T1": (BARE_AIO, BARE, "bare-aio"),
    "T2": (BARE_BATCHING, BARE, "bare-batching"),
    "T3": (BARE, ORT, "the bare server"),
}


def summary(found: list[Verdict], cells: list[Cell]) -> str:
    """One line per target: how many cells pass, and the worst ratio. A missed cell is called floor-bound
    where the bare baseline of the same kind misses it as well (T3: the bare server; when measured, T2: the
    bare server with the smallest batcher, T1: the bare server on grpc.aio): no server of that kind reaches
    the target there."""
    table = by_cell(cells)
    lines = []
    for target in dict.fromkeys(v.target for v in found):
        mine = [v for v in found if v.target == target]
        worst = min(mine, key=lambda v: v.ratio)
        passed = sum(v.passed for v in mine)
        status = "PASS" if passed == len(mine) else "MISS"
        line = (
            f"{status} {target} >= {worst.floor}: {passed}/{len(mine)} cells; worst {worst.ratio:.2f} "
            f"({worst.model}, batch {worst.batch}, {worst.callers} callers)"
        )
        if (baseline := _FLOOR_BASELINES.get(target[:2])) is not None:
            top, bottom, who = baseline
            floor = [
                v
                for v in mine
                if not v.passed and _ratio(table[v.model, v.batch, v.callers], top, bottom) < v.floor
            ]
            if floor:
                line += (
                    f"; {len(floor)} missed cell(s) floor-bound ({who} is under {worst.floor} x there too)"
                )
        lines.append(line)
    return "\n".join(lines)


def problems(cells: list[Cell]) -> str:
    """Cells whose calls failed or whose answers differed from onnxruntime."""
    bad = [c for c in cells if c.problems]
    return "\n".join(
        f"{c.system} {c.model} batch {c.batch} x {c.callers}: {'; '.join(c.problems)}" for c in bad
    )
