"""Short runs on the event loop (gateway.inline) and the direct scheduler's use of them."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from gateway.errors import RuntimeFailure
from gateway.inline import InlineRuns, input_elements
from gateway.scheduling import DirectScheduler
from gateway.types import TensorSpec
from gateway.workers import WorkerPool

FLOAT_INPUT = (TensorSpec("x", "FP32", (-1, 4)),)
SIZE = 4
FAST, SLOW = 10_000, 1_000_000


def learned(runs: InlineRuns, size: int = SIZE, count: int = 3) -> InlineRuns:
    for _ in range(count):
        runs.ran(size, FAST, inline=False)
    return runs


def test_a_size_runs_inline_only_after_enough_fast_runs_on_workers() -> None:
    runs = InlineRuns("m/1", FLOAT_INPUT, run_ns=50_000, learn_runs=3)
    assert not runs.inline(SIZE)
    learned(runs, count=2)
    assert not runs.inline(SIZE)
    runs.ran(SIZE, FAST, inline=False)
    assert runs.inline(SIZE)


def test_sizes_are_learned_apart_within_a_factor_of_two() -> None:
    runs = learned(InlineRuns("m/1", FLOAT_INPUT, run_ns=50_000, learn_runs=3), size=4)
    assert runs.inline(7)
    assert not runs.inline(8)
    assert not runs.inline(3)


def test_a_size_whose_runs_grow_slow_goes_back_to_the_workers() -> None:
    runs = learned(InlineRuns("m/1", FLOAT_INPUT, run_ns=50_000, learn_runs=3, strike_ns=10 * SLOW))
    runs.ran(SIZE, 60_000, inline=True)
    assert runs.inline(SIZE)  # one run a little over the limit barely moves the average
    for _ in range(3):
        runs.ran(SIZE, SLOW, inline=True)
    assert not runs.inline(SIZE)
    assert runs.enabled


def test_an_inline_run_far_over_the_limit_turns_inlining_off_for_good(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = learned(InlineRuns("m/1", FLOAT_INPUT, run_ns=50_000, learn_runs=3, strike_ns=SLOW))
    runs.ran(SIZE, 2 * SLOW, inline=True)
    learned(runs)
    assert not runs.inline(SIZE)
    assert "m/1" in caplog.text


@pytest.mark.parametrize("datatype", ["INT64", "BOOL", "BYTES", "INT32"])
def test_versions_with_non_floating_inputs_never_run_inline(datatype: str) -> None:
    inputs = (*FLOAT_INPUT, TensorSpec("n", datatype, (-1,)))
    runs = learned(InlineRuns("m/1", inputs, run_ns=50_000, learn_runs=3))
    assert not runs.inline(SIZE)


def test_input_elements_counts_every_input() -> None:
    assert input_elements({"a": np.zeros((2, 3)), "b": np.zeros(5)}) == 11


class _Recorder:
    """A run function that answers twice its input and remembers which thread ran it."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.threads: list[int] = []
        self.fail_after = fail_after

    def __call__(self, feeds: dict[str, np.ndarray], outputs: list[str] | None) -> list[np.ndarray]:
        self.threads.append(threading.get_ident())
        if self.fail_after is not None and len(self.threads) > self.fail_after:
            raise ValueError("broken run")
        return [feeds["x"] * 2]


async def _submit_many(scheduler: DirectScheduler, count: int) -> list[np.ndarray]:
    x = np.arange(SIZE, dtype=np.float32).reshape(1, SIZE)
    answers = []
    for _ in range(count):
        result, _, _ = await scheduler.submit({"x": x}, 1, None, None, None)
        answers.append(result[0])
    return answers


def _scheduler(run: _Recorder) -> tuple[DirectScheduler, WorkerPool]:
    pool = WorkerPool(2, "test-inline")
    # A generous limit: every run of this tiny function counts as fast, whatever the machine's load.
    inline = InlineRuns("m/1", FLOAT_INPUT, run_ns=10**10, learn_runs=3)
    return DirectScheduler(run, pool, 2, 0, lambda rows, ns: None, inline), pool


def test_the_direct_scheduler_runs_learned_sizes_on_the_loop_with_the_same_answers() -> None:
    run = _Recorder()

    async def scenario() -> tuple[list[np.ndarray], int]:
        scheduler, pool = _scheduler(run)
        try:
            return await _submit_many(scheduler, 6), threading.get_ident()
        finally:
            pool.shutdown(RuntimeFailure("closed"))

    answers, loop_thread = asyncio.run(scenario())
    assert run.threads[:3].count(loop_thread) == 0
    assert run.threads[3:] == [loop_thread] * 3
    for answer in answers:
        np.testing.assert_array_equal(answer, np.arange(SIZE, dtype=np.float32).reshape(1, SIZE) * 2)


def test_a_failing_inline_run_reports_a_runtime_failure_and_frees_its_slot() -> None:
    run = _Recorder(fail_after=3)

    async def scenario() -> tuple[str, int]:
        scheduler, pool = _scheduler(run)
        try:
            await _submit_many(scheduler, 3)
            with pytest.raises(RuntimeFailure) as failure:
                await _submit_many(scheduler, 1)
            return str(failure.value), scheduler.running()
        finally:
            pool.shutdown(RuntimeFailure("closed"))

    message, running = asyncio.run(scenario())
    assert "ValueError" in message
    assert running == 0
