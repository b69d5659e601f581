"""Closed-loop load over ``tritonclient.grpc`` for bench/gateway.py, one worker process per slice of callers.

Why processes of threads: a Python client spends more CPU per small request than the servers under test, so
one client process would measure itself. The callers are split over a few worker processes; inside one,
each caller is a thread with its own ``InferenceServerClient`` (the blocking call releases the GIL while it
waits). In trials this drove more requests per second than ``tritonclient.grpc.aio`` coroutines did.

Every caller sends raw binary tensors (``set_data_from_numpy``, prepared once, so the timed loop is the
client's ordinary ``infer`` call) and checks a sample of the responses against onnxruntime run on the same
inputs in the worker before the timed window.

A worker speaks JSON lines on stdin/stdout (``python bench/loadgen.py``):

* ``{"op": "prepare", "url", "model", "input", "width", "batch", "callers", "first_caller", "reference"}``
  -> ``{"ok": true}`` once clients and expected outputs are ready;
* ``{"op": "go", "start": T0, "stop": T1}`` (``time.monotonic`` seconds; the same clock in every process
  on Linux) -> callers run at once; every call overlapping [T0, T1] counts by the share of it inside ->
  ``{"count", "work", "latencies_ms", "checked", "problems"}``;
* ``{"op": "quit"}``.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Distinct inputs per (model, batch): callers cycle through them, so a batcher that mixed up rows between
# callers would fail the check, while expected outputs stay cheap to compute.
INPUT_POOL = 4
# Every CHECK_EVERY-th call of a caller in the window (and its first) is checked.
CHECK_EVERY = 64
RTOL, ATOL = 1e-4, 1e-5
# A call slower than this is a hung server, not a measurement: the caller stops and the cell reports it.
CALL_TIMEOUT_S = 120.0


def pool_inputs(width: int, batch: int) -> list[np.ndarray]:
    """The deterministic inputs every system of one cell receives."""
    return [
        np.random.default_rng([width, batch, k]).standard_normal((batch, width), dtype=np.float32)
        for k in range(INPUT_POOL)
    ]


def mismatch(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> str:
    """'' when every output matches onnxruntime, else what differs."""
    for name, want in expected.items():
        have = got.get(name)
        if have is None:
            return f"output {name} missing"
        if have.shape != want.shape:
            return f"output {name}: shape {have.shape}, expected {want.shape}"
        if not np.allclose(have, want, rtol=RTOL, atol=ATOL):
            return f"output {name}: max abs diff {np.max(np.abs(have - want)):.3g}"
    return ""


@dataclass
class Tally:
    """What callers saw of the window: ``work`` counts each call by the share of its duration inside the
    window, so calls longer than the window still measure throughput without rounding to whole calls."""

    count: int = 0
    work: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "work": self.work,
            "latencies_ms": self.latencies_ms,
            "checked": self.checked,
            "problems": self.problems[:5],
        }

    def add(self, other: Tally) -> None:
        with self.lock:
            self.count += other.count
            self.work += other.work
            self.latencies_ms.extend(other.latencies_ms)
            self.checked += other.checked
            self.problems.extend(other.problems)


class CallLog(Tally):
    """One caller's calls that overlap the window [start, stop]; its latencies are theirs."""

    def __init__(self, start: float, stop: float) -> None:
        super().__init__()
        self.start, self.stop = start, stop

    def record(self, sent: float, done: float) -> bool:
        """Count one call; True when it overlapped the window (its answer may be sampled)."""
        if done < self.start or sent > self.stop:
            return False
        took = done - sent
        self.work += (min(done, self.stop) - max(sent, self.start)) / took if took > 0 else 1.0
        self.latencies_ms.append(took * 1e3)
        self.count += 1
        return True

    def check(self, expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
        self.checked += 1
        if problem := mismatch(expected, got):
            self.problems.append(problem)

    def sampled(self) -> bool:
        """True for the first call in the window and every CHECK_EVERY-th after it."""
        return (self.count - 1) % CHECK_EVERY == 0


@functools.cache
def expected_outputs(reference: str, name: str, width: int, batch: int) -> list[dict[str, np.ndarray]]:
    """onnxruntime's answers for ``pool_inputs(width, batch)``, computed once per worker process (one
    thread: the servers under test own the cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(reference, opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return [dict(zip(names, session.run(names, {name: x}), strict=True)) for x in pool_inputs(width, batch)]


class Caller:
    """One closed-loop caller: send, wait, repeat; a sample of its answers is checked."""

    def __init__(self, spec: dict[str, Any], data: np.ndarray, expected: dict[str, np.ndarray]) -> None:
        import tritonclient.grpc as triton

        self._client = triton.InferenceServerClient(spec["url"])
        self._model = spec["model"]
        self._input = triton.InferInput(spec["input"], list(data.shape), "FP32")
        self._input.set_data_from_numpy(data)
        self._expected = expected

    def run(self, start: float, stop: float, tally: Tally) -> None:
        log = CallLog(start, stop)
        try:
            while (sent := time.monotonic()) < stop:
                result = self._client.infer(self._model, [self._input], client_timeout=CALL_TIMEOUT_S)
                if log.record(sent, time.monotonic()) and log.sampled():
                    log.check(self._expected, {name: result.as_numpy(name) for name in self._expected})
        except Exception as exc:  # the cell reports it; other callers carry on
            log.problems.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        finally:
            self._client.close()
        tally.add(log)


def prepare(spec: dict[str, Any]) -> list[Caller]:
    inputs = pool_inputs(spec["width"], spec["batch"])
    expected = expected_outputs(spec["reference"], spec["input"], spec["width"], spec["batch"])
    first = spec["first_caller"]
    picks = [(first + i) % INPUT_POOL for i in range(spec["callers"])]
    return [Caller(spec, inputs[k], expected[k]) for k in picks]


def run_callers(callers: list[Caller], start: float, stop: float) -> Tally:
    tally = Tally()
    threads = [threading.Thread(target=c.run, args=(start, stop, tally)) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def worker() -> None:
    """Serve prepare/go/quit commands from stdin until quit or end of input."""
    callers: list[Caller] = []
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "prepare":
            callers = prepare(command)
            _reply({"ok": True})
        elif op == "go":
            _reply(run_callers(callers, command["start"], command["stop"]).as_json())
            callers = []
        elif op == "quit":
            return


if __name__ == "__main__":
    worker()
