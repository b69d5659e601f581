"""When a model run may execute on the event loop's own thread instead of a worker thread.

Handing a run to a worker thread and back costs two thread wake-ups, a GIL hand-over and a loop wake-up; on a
busy 2-core machine that was the largest cost a gateway request added over a bare gRPC server for a small
tabular model, whose whole run takes less. A run known to be that short holds the loop about as long as the
hand-off would, so it runs inline.

"Known" is learned per version and input size (total input elements, within a factor of two): a size runs
inline once ``LEARN_RUNS`` runs of it were seen and the running thread's CPU time per run, averaged with
more weight on recent runs, is at most ``INLINE_RUN_NS``. CPU time, not wall time: on a busy server a
worker's wall time mostly measures its wait for the GIL, the very cost that running inline avoids. Inline
runs keep feeding the average, so a size whose runs grow slower goes back to the workers.

Safeguards against run times that the input size does not predict:

* only versions whose inputs are all floating point take part; integer, boolean and string inputs are what
  usually steer data-dependent work (loop counts, lengths, indices);
* one inline run over ``STRIKE_NS`` turns inlining off for the version for good, with a warning.

Used only from the event loop's thread (no locks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from gateway.types import TensorSpec

__all__ = ["INLINE_RUN_NS", "LEARN_RUNS", "STRIKE_NS", "InlineRuns", "input_elements"]

log = logging.getLogger(__name__)

# Up to a millisecond a run pays for itself on the loop: measured against the bare server on a shared 2-core
# VM, raising the limit from 250 µs to 1 ms took breast-cancer at 1024 rows x 1 caller from 0.86 to 0.98 x
# and the 3M-parameter MLP at batch 1 x 32 callers from 0.75 to 0.93 x (4 interleaved rounds, medians).
INLINE_RUN_NS = 1_000_000
LEARN_RUNS = 16
STRIKE_NS = 5_000_000
_WEIGHT = 8  # the newest run counts 1/8 in the average
_FLOATING = frozenset({"FP16", "BF16", "FP32", "FP64"})


def input_elements(feeds: dict[str, np.ndarray]) -> int:
    """The size a run is predicted from: elements over all inputs."""
    if len(feeds) == 1:  # most models: spare the generator
        (array,) = feeds.values()
        return int(array.size)
    return sum(array.size for array in feeds.values())


class InlineRuns:
    """Per-version record of run costs by input size; ``inline(size)`` says where the next run goes."""

    __slots__ = ("_costs", "_label", "_learn_runs", "_run_ns", "_strike_ns", "enabled")

    def __init__(
        self,
        label: str,
        inputs: Iterable[TensorSpec],
        run_ns: int = INLINE_RUN_NS,
        learn_runs: int = LEARN_RUNS,
        strike_ns: int = STRIKE_NS,
    ) -> None:
        specs = list(inputs)
        self._label = label
        self._run_ns, self._learn_runs, self._strike_ns = run_ns, learn_runs, strike_ns
        self.enabled = bool(specs) and all(spec.datatype in _FLOATING for spec in specs)
        # size class -> [runs seen, average CPU ns per run]
        self._costs: dict[int, list[int]] = {}

    def inline(self, size: int) -> bool:
        """True when a run of ``size`` input elements should run on the loop."""
        if not self.enabled:
            return False
        cost = self._costs.get(size.bit_length())
        return cost is not None and cost[0] >= self._learn_runs and cost[1] <= self._run_ns

    def ran(self, size: int, cpu_ns: int, inline: bool) -> None:
        """Record one finished run: the CPU time of the thread that ran it, and whether that was the loop."""
        if not self.enabled:
            return
        cost = self._costs.get(size.bit_length())
        if cost is None:
            self._costs[size.bit_length()] = [1, cpu_ns]
        else:
            cost[0] += 1
            cost[1] += (cpu_ns - cost[1]) // _WEIGHT
        if inline and cpu_ns > self._strike_ns:
            self.enabled = False
            log.warning(
                "model %s: a run took %.1f ms on the event loop although runs of that input size took under "
                "%.2f ms; its runs stay on worker threads from now on",
                self._label,
                cpu_ns / 1e6,
                self._run_ns / 1e6,
            )
