"""Cumulative statistics of one model version (what the ModelStatistics RPC reports).

Counters are plain integers updated only from the event loop that owns the core, so they need no lock; the
batcher reports batch facts and the core reports request outcomes.
"""

from __future__ import annotations

import time

from gateway.types import DurationStat, ModelStats

__all__ = ["StatsRecorder"]


class StatsRecorder:
    """Mutable counters for one model version; ``snapshot`` freezes them into ``ModelStats``."""

    __slots__ = (
        "_batches",
        "_fail",
        "_infer",
        "_input",
        "_output",
        "_queue",
        "_success",
        "execution_count",
        "inference_count",
        "last_inference_ms",
        "name",
        "version",
    )

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        self.last_inference_ms = 0
        self.inference_count = 0
        self.execution_count = 0
        # [count, total ns] pairs: lists, so the hot path adds in place without new objects
        self._success = [0, 0]
        self._fail = [0, 0]
        self._queue = [0, 0]
        self._input = [0, 0]
        self._infer = [0, 0]
        self._output = [0, 0]
        self._batches: dict[int, list[int]] = {}

    def request_succeeded(self, total_ns: int, queue_ns: int, compute: tuple[int, int, int]) -> None:
        """A request finished well. ``compute`` is its batch's (input, infer, output) nanoseconds."""
        self._success[0] += 1
        self._success[1] += total_ns
        self._queue[0] += 1
        self._queue[1] += queue_ns
        input_ns, infer_ns, output_ns = compute
        self._input[0] += 1
        self._input[1] += input_ns
        self._infer[0] += 1
        self._infer[1] += infer_ns
        self._output[0] += 1
        self._output[1] += output_ns
        self.last_inference_ms = int(time.time() * 1000)

    def request_failed(self, total_ns: int) -> None:
        self._fail[0] += 1
        self._fail[1] += total_ns

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
        return ModelStats(
            name=self.name,
            version=self.version,
            last_inference_ms=self.last_inference_ms,
            inference_count=self.inference_count,
            execution_count=self.execution_count,
            success=DurationStat(*self._success),
            fail=DurationStat(*self._fail),
            queue=DurationStat(*self._queue),
            compute_input=DurationStat(*self._input),
            compute_infer=DurationStat(*self._infer),
            compute_output=DurationStat(*self._output),
            batch_stats=tuple((n, DurationStat(*p)) for n, p in sorted(self._batches.items())),
        )
