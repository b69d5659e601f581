"""Measuring one cell (system x model x batch x callers): remote systems through the load-generator
processes of bench/loadgen.py, in-process onnxruntime through threads calling ``session.run``.

Every cell has the same shape: callers start at once, warm up for ``warmup_s``, then calls completing in the
next ``seconds`` count, each by the share of its duration inside that window (so a few long calls still give
a smooth rate). Rows/s = counted calls x batch / seconds; p50/p99 are the latencies of the calls counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from gateway_setup import HERE, ROOT, BenchModel
from loadgen import INPUT_POOL, CallLog, Tally, expected_outputs, pool_inputs

# Time given to the worker processes between "go" and the start of the warm-up window.
_GO_SLACK_S = 0.05


@dataclass
class Cell:
    """One measured cell; ``problems`` holds result mismatches and call errors (empty when all is well)."""

    system: str
    model: str
    batch: int
    callers: int
    rows_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    checked: int
    problems: list[str] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # rows/s of every round, when measured several times

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def summarize(system: str, model: BenchModel, batch: int, callers: int, tally: Tally, seconds: float) -> Cell:
    lat = np.asarray(tally.latencies_ms, dtype=np.float64)
    p50, p99 = (float(np.percentile(lat, q)) for q in (50, 99)) if lat.size else (float("nan"),) * 2
    problems = list(tally.problems)
    if tally.count == 0:
        problems.append("no call completed inside the window")
    return Cell(
        system, model.name, batch, callers, tally.work * batch / seconds, p50, p99,
        tally.count, tally.checked, problems[:5],
    )  # fmt: skip


class ClientPool:
    """Long-lived load-generator processes (started once: importing tritonclient costs a second each)."""

    def __init__(self, processes: int) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self._workers = [
            subprocess.Popen(
                [sys.executable, str(HERE / "loadgen.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env,
            )
            for _ in range(processes)
        ]

    def _ask(self, worker: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert worker.stdin is not None
        worker.stdin.write(json.dumps(message) + "\n")
        worker.stdin.flush()

    def _answer(self, worker: subprocess.Popen[str]) -> dict[str, Any]:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited (code {worker.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def measure(
        self,
        system: str,
        url: str,
        model: BenchModel,
        batch: int,
        callers: int,
        warmup_s: float,
        seconds: float,
    ) -> Cell:
        """Drive ``url`` with ``callers`` callers spread over the worker processes."""
        used = self._workers[: min(callers, len(self._workers))]
        shares = [callers // len(used) + (i < callers % len(used)) for i in range(len(used))]
        first = 0
        for worker, share in zip(used, shares, strict=True):
            spec = {"url": url, "model": model.name, "input": model.input, "width": model.width}
            spec |= {"batch": batch, "callers": share, "first_caller": first, "reference": str(model.path)}
            self._ask(worker, {"op": "prepare", **spec})
            first += share
        for worker in used:
            self._answer(worker)
        start = time.monotonic() + _GO_SLACK_S + warmup_s
        for worker in used:
            self._ask(worker, {"op": "go", "start": start, "stop": start + seconds})
        tally = Tally()
        for worker in used:
            part = self._answer(worker)
            tally.add(
                Tally(part["count"], part["work"], part["latencies_ms"], part["checked"], part["problems"])
            )
        return summarize(system, model, batch, callers, tally, seconds)

    def close(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                self._ask(worker, {"op": "quit"})
        for worker in self._workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()


class InProcess:
    """onnxruntime in this process with the gateway's default session settings: the limit for any server."""

    def __init__(self, model: BenchModel) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = os.cpu_count() or 1, 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.model = model
        self.session = ort.InferenceSession(str(model.path), opts, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]

    def _caller(
        self, data: np.ndarray, expected: dict[str, np.ndarray], start: float, stop: float, tally: Tally
    ) -> None:
        feeds, names, run = {self.model.input: data}, self.outputs, self.session.run
        log = CallLog(start, stop)
        while (sent := time.monotonic()) < stop:
            result = run(names, feeds)
            if log.record(sent, time.monotonic()) and log.sampled():
                log.check(expected, dict(zip(names, result, strict=True)))
        tally.add(log)

    def measure(self, batch: int, callers: int, warmup_s: float, seconds: float) -> Cell:
        model = self.model
        inputs = pool_inputs(model.width, batch)
        expected = expected_outputs(str(model.path), model.input, model.width, batch)
        tally = Tally()
        start = time.monotonic() + warmup_s
        threads = []
        for i in range(callers):
            args = (inputs[i % INPUT_POOL], expected[i % INPUT_POOL], start, start + seconds, tally)
            threads.append(threading.Thread(target=self._caller, args=args))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return summarize("onnxruntime", self.model, batch, callers, tally, seconds)
