"""How many runs of one version execute at once (gateway.serving.run_concurrency)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ModelYaml, ServerSettings
from gateway.repository import VersionSource
from gateway.runtime import SessionConfig
from gateway.serving import MAX_UNBATCHED_RUNS, LoadPlan, run_concurrency


def plan(threads: int, concurrency: int | None = None) -> LoadPlan:
    source = VersionSource("m", 1, Path("m/1/model.onnx"))
    return LoadPlan(source, ModelYaml(concurrency=concurrency), SessionConfig(intra_op_threads=threads))


@pytest.mark.parametrize(("threads", "expected"), [(1, 4), (2, 8), (3, 12), (8, MAX_UNBATCHED_RUNS)])
def test_unbatched_runs_default_to_four_per_intra_op_thread_within_bounds(
    threads: int, expected: int
) -> None:
    assert run_concurrency(plan(threads), ServerSettings(), batched=False) == expected


def test_batched_versions_run_one_batch_at_a_time() -> None:
    assert run_concurrency(plan(8), ServerSettings(), batched=True) == 1


def test_the_model_setting_wins_over_the_server_setting_which_wins_over_the_default() -> None:
    assert run_concurrency(plan(2), ServerSettings(unbatched_concurrency=3), batched=False) == 3
    assert (
        run_concurrency(plan(2, concurrency=5), ServerSettings(unbatched_concurrency=3), batched=False) == 5
    )
    assert run_concurrency(plan(2, concurrency=2), ServerSettings(), batched=True) == 2
