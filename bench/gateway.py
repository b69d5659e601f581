"""Gateway benchmark: ``bridgeway serve`` against its baselines, in one run on the same models and machine.

Systems, all driven by the same ``tritonclient.grpc`` load generator (bench/loadgen.py; raw binary tensors,
closed-loop callers spread over a few processes, a sample of results checked against onnxruntime):

* ``onnxruntime`` -- in-process ``session.run`` from as many threads as callers: the limit for any server;
* ``bare`` -- bench/bare_server.py, grpc + onnxruntime and nothing else: the floor a Python gRPC server costs;
* ``bridgeway-off`` / ``bridgeway-on`` -- ``bridgeway serve`` with dynamic batching off / on;
* ``mlserver`` -- optional (``--mlserver-python``): Seldon MLServer from a virtualenv of its own, serving the
  models through the small onnxruntime runtime in bench/mlserver_runtime.py;
* ``bare-aio`` -- optional (``--bare-aio``): bench/bare_aio_server.py, the bare server's few lines on grpc.aio
  and uvloop as the gateway runs them: what the gateway's transport costs before any of its features;
* ``bare-batching`` -- optional (``--bare-batching``): bench/bare_batching_server.py, the bare server plus the
  smallest batcher with ``bridgeway-on``'s queue delay: what batching alone reaches on this machine;

Models: the example breast-cancer MLP (30 features) and a ~3.2M-parameter MLP built here; batch 1, 64 and
1024 with 1, 8 and 32 callers. Prints rows/s and p50/p99 per cell, the ratios and PASS/MISS per target
(bench/gateway_report.py). The systems of one cell run back to back, so each ratio compares measurements
taken seconds apart on a machine whose load may drift; every round starts fresh server processes.

    python bench/gateway.py [--rounds 3] [--seconds 1.5] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from gateway_measure import Cell, ClientPool, InProcess
from gateway_report import (
    BARE,
    BARE_AIO,
    BARE_BATCHING,
    MLSERVER,
    OFF,
    ON,
    ORT,
    problems,
    results_table,
    summary,
    verdicts,
)
from gateway_setup import (
    BATCHING_OFF,
    BATCHING_ON,
    BenchModel,
    build_models,
    build_repository,
    running,
    start_bare,
    start_bare_aio,
    start_bare_batching,
    start_gateway,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Gateway benchmark: ratios to in-process and bare baselines."
    )
    parser.add_argument("--seconds", type=float, default=1.5, help="measured seconds per round (default 1.5)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per round (default 0.5)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure each cell this many times, alternating the order of the systems and starting "
        "fresh server processes each round; keep each system's median round (default 3)",
    )
    parser.add_argument("--quick", action="store_true", help="batch 1 and 1024, 1 and 32 callers, one round")
    parser.add_argument("--batches", default="1,64,1024", help="comma-separated batch sizes")
    parser.add_argument("--callers", default="1,8,32", help="comma-separated caller counts")
    parser.add_argument("--models", default="breast-cancer,mlp-3m", help="comma-separated model names")
    parser.add_argument("--client-procs", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument(
        "--mlserver-python", help="python of a virtualenv with mlserver installed: adds MLServer as a system"
    )
    parser.add_argument(
        "--bare-aio",
        action="store_true",
        help="adds bench/bare_aio_server.py: the bare server on grpc.aio and uvloop",
    )
    parser.add_argument(
        "--bare-batching",
        action="store_true",
        help="adds bench/bare_batching_server.py: the bare server with the smallest batcher",
    )
    parser.add_argument("--json", type=Path, help="also write every cell, ratio and verdict here")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.callers, args.seconds, args.rounds = "1,1024", "1,32", 2.0, 1
    args.batch_list = [int(b) for b in args.batches.split(",")]
    args.caller_list = [int(c) for c in args.callers.split(",")]
    args.model_list = args.models.split(",")
    return args


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _starters(model: BenchModel, root: Path, args: argparse.Namespace) -> list[tuple[str, Any]]:
    off = build_repository(root, model, BATCHING_OFF, "off")
    on = build_repository(root, model, BATCHING_ON[model.name], "on")
    starters: list[tuple[str, Any]] = [
        (BARE, lambda: start_bare(model, BARE)),
        (OFF, lambda: start_gateway(off, OFF)),
        (ON, lambda: start_gateway(on, ON)),
    ]
    if args.bare_aio:
        starters.append((BARE_AIO, lambda: start_bare_aio(model, BARE_AIO)))
    if args.bare_batching:
        starters.append((BARE_BATCHING, lambda: start_bare_batching(model, BARE_BATCHING)))
    if args.mlserver_python:
        from mlserver_setup import start_mlserver

        python = args.mlserver_python
        starters.append((MLSERVER, lambda: start_mlserver(python, root, model, MLSERVER)))
    return starters


def median_cell(cells: list[Cell]) -> Cell:
    """The round with the median rows/s (its latencies too); every round's rate and problem is kept."""
    ordered = sorted(cells, key=lambda c: c.rows_per_s)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.rounds = [c.rows_per_s for c in cells]
    chosen.problems = [p for c in cells for p in c.problems][:5]
    return chosen


def run_model(model: BenchModel, root: Path, pool: ClientPool, args: argparse.Namespace) -> list[Cell]:
    """Every (batch, callers) cell of one model, ``--rounds`` times, the systems of a cell back to back in
    alternating order.

    Every round starts fresh server processes: onnxruntime's cost per run of the same file with the same
    options differs between processes (callgrind: 1.13M or 2.24M instructions per batch-1 run of mlp-3m), so
    servers kept for every round would make a cell's ratio depend on which processes drew which.
    """
    local = InProcess(model)
    grid = [(batch, callers) for batch in args.batch_list for callers in args.caller_list]
    runs: dict[tuple[int, int], dict[str, list[Cell]]] = {key: {} for key in grid}
    names: list[str] = []
    for round_ in range(args.rounds):
        with running(_starters(model, root, args)) as servers:
            names = [ORT, *servers]
            for batch, callers in grid:
                for name in names if round_ % 2 == 0 else names[::-1]:
                    if name == ORT:
                        cell = local.measure(batch, callers, args.warmup, args.seconds)
                    else:
                        url = servers[name].url
                        cell = pool.measure(name, url, model, batch, callers, args.warmup, args.seconds)
                    runs[batch, callers].setdefault(name, []).append(cell)
                    _log(
                        f"round {round_ + 1} {model.name:14} batch {batch:5} x {callers:2} {name:14} "
                        f"{cell.rows_per_s:12,.0f} rows/s  p50 {cell.p50_ms:8.2f}  p99 {cell.p99_ms:8.2f} ms"
                        + (f"  {cell.problems}" if cell.problems else "")
                    )
    return [median_cell(runs[key][name]) for key in grid for name in names]


def machine() -> dict[str, Any]:
    """CPU model, cores and memory, from /proc where available."""
    info: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    info["python"] = platform.python_version()
    return info


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers and load generators started here are stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = datetime.datetime.now(datetime.UTC)
    with tempfile.TemporaryDirectory(prefix="bridgeway-bench-") as tmp:
        root = Path(tmp)
        models = [m for m in build_models(root) if m.name in args.model_list]
        pool = ClientPool(args.client_procs)
        try:
            cells = [cell for model in models for cell in run_model(model, root, pool, args)]
        finally:
            pool.close()
    found = verdicts(cells)
    host = machine()
    memory = host.get("memory_gib", "?")
    print(f"# {host['cpu']}, {host['cores']} cores, {memory} GiB; {started:%Y-%m-%d %H:%M} UTC")
    print(
        f"# {args.seconds:g} s per cell after {args.warmup:g} s warm-up, median of {args.rounds} round(s); "
        f"{args.client_procs} client processes"
    )
    print("# cells: rows/s (p50/p99 ms)\n")
    print(results_table(cells) + "\n")
    print(summary(found, cells))
    if trouble := problems(cells):
        print("\nproblems:\n" + trouble)
    if args.json:
        document = {
            "machine": host,
            "started": started.isoformat(),
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "models": [{"name": m.name, "parameters": m.parameters, "width": m.width} for m in models],
            "cells": [c.as_json() for c in cells],
            "verdicts": [v.as_json() for v in found],
        }
        args.json.write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
