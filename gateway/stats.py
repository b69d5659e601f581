"""Cumulative statistics of one model version (what the ModelStatistics RPC reports).

Counters are plain integers updated only from the event loop that owns the core, so they need no lock; the
batcher reports batch facts and the core reports request outcomes.
"""

from __future__ import annotations

import time

from gateway.types import DurationStat, ModelStats

__all__ = ["StatsRecorder"]


class StatsRecorder:
    """Mutable counters for one model version; ``snapshot`` freezes them into ``ModelStats``.

    Every success adds one to the success, queue and compute counts alike, so one count serves them all.
    """

    __slots__ = (
        "_batches",
        "_fail_count",
        "_fail_ns",
        "_infer_ns",
        "_input_ns",
        "_last_ns",
        "_output_ns",
        "_queue_ns",
        "_success_count",
        "_success_ns",
        "execution_count",
        "inference_count",
        "name",
        "version",
    )

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        self.inference_count = 0
        self.execution_count = 0
        self._last_ns = 0  # wall clock of the last success, ns since the epoch
        self._success_count = self._success_ns = self._queue_ns = 0
        self._input_ns = self._infer_ns = self._output_ns = 0
        self._fail_count = self._fail_ns = 0
        self._batches: dict[int, list[int]] = {}  # rows -> [runs, infer ns]

    @property
    def last_inference_ms(self) -> int:
        return self._last_ns // 1_000_000

    def request_succeeded(self, total_ns: int, queue_ns: int, compute: tuple[int, int, int]) -> None:
        """A request finished well. ``compute`` is its batch's (input, infer, output) nanoseconds."""
        self._success_count += 1
        self._success_ns += total_ns
        self._queue_ns += queue_ns
        self._input_ns += compute[0]
        self._infer_ns += compute[1]
        self._output_ns += compute[2]
        self._last_ns = time.time_ns()

    def request_failed(self, total_ns: int) -> None:
        self._fail_count += 1
        self._fail_ns += total_ns

    def batch_executed(self, rows: int, infer_ns: int) -> None:
        """One onnxruntime run over ``rows`` batch elements."""
        self.execution_count += 1
        self.inference_count += rows
        pair = self._batches.get(rows)
        if pair is None:
            pair = self._batches[rows] = [0, 0]
        pair[0] += 1
        pair[1] += infer_ns

    def snapshot(self) -> ModelStats:
        successes = self._success_count
        return ModelStats(
            name=self.name,
            version=self.version,
            last_inference_ms=self.last_inference_ms,
            inference_count=self.inference_count,
            execution_count=self.execution_count,
            success=DurationStat(successes, self._success_ns),
            fail=DurationStat(self._fail_count, self._fail_ns),
            queue=DurationStat(successes, self._queue_ns),
            compute_input=DurationStat(successes, self._input_ns),
            compute_infer=DurationStat(successes, self._infer_ns),
            compute_output=DurationStat(successes, self._output_ns),
            batch_stats=tuple((n, DurationStat(*p)) for n, p in sorted(self._batches.items())),
        )
