"""Dynamic batching and the unbatched queue, observed through a real core running real onnxruntime.

Where a test needs requests to stay queued, ``blocked_runs`` occupies the version's worker threads: the run
that was dispatched waits for a worker and the queue fills behind it, as with a slow model.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from gateway_testkit import (
    add_model,
    blocked_runs,
    doubling_model,
    identity_model,
    run,
    serving,
    until,
    write_model,
)

from gateway.core import InferenceCore
from gateway.errors import DeadlineExceeded, QueueFull, RuntimeFailure, ServerDraining
from gateway.types import InferRequest, InferResponse, Tensor


def adder_request(caller: int, rows: int, deadline: float | None = None) -> InferRequest:
    a = (caller * 100 + np.arange(rows * 4, dtype=np.float32)).reshape(rows, 4)
    b = np.ones((rows, 4), np.float32)
    return InferRequest("adder", [Tensor("a", "FP32", a), Tensor("b", "FP32", b)], deadline=deadline)


def own_rows(response: InferResponse, request: InferRequest) -> bool:
    expected = request.inputs[0].data + 1
    total = next(t for t in response.outputs if t.name == "sum").data
    return total.shape == expected.shape and bool((total == expected).all())


def queued(core: InferenceCore, model: str) -> int:
    return core._resolve(model, "").scheduler.queued()


def dispatched(core: InferenceCore, model: str) -> bool:
    """The first request has left the queue and waits for a (blocked) worker."""
    scheduler = core._resolve(model, "").scheduler
    return scheduler.running() == 1 and scheduler.queued() == 0


def test_concurrent_requests_are_merged_and_each_caller_gets_exactly_its_rows(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model(), "batching: {max_batch_size: 64}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            requests = [adder_request(caller, rows=1 + caller % 3) for caller in range(20)]
            with blocked_runs(core, "adder"):
                first = asyncio.ensure_future(core.infer(adder_request(99, 1)))
                await until(lambda: dispatched(core, "adder"), "the first request is dispatched")
                calls = [asyncio.ensure_future(core.infer(r)) for r in requests]
                await until(lambda: queued(core, "adder") == 20, "20 requests queue behind it")
            responses = await asyncio.gather(*calls)
            await first
            (stats,) = core.model_statistics("adder")
            assert all(own_rows(resp, req) for resp, req in zip(responses, requests, strict=True))
            assert stats.execution_count == 2  # the blocked one, then all 20 together
            merged_rows = sum(r.inputs[0].data.shape[0] for r in requests)
            assert stats.inference_count == 1 + merged_rows
            assert stats.success.count == 21
            assert [size for size, _ in stats.batch_stats] == [1, merged_rows]

    run(scenario())


def test_requests_whose_other_axes_differ_are_batched_apart(repo: Path) -> None:
    write_model(repo, "ident", 1, identity_model(), "batching: {max_batch_size: 64}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            data = [np.full((2, 2 + i % 2), i, np.float32) for i in range(6)]
            with blocked_runs(core, "ident"):
                first = asyncio.ensure_future(
                    core.infer(InferRequest("ident", [Tensor("x", "FP32", data[0])]))
                )
                await until(lambda: dispatched(core, "ident"), "the first request is dispatched")
                calls = [core.infer(InferRequest("ident", [Tensor("x", "FP32", d)])) for d in data[1:]]
                tasks = [asyncio.ensure_future(c) for c in calls]
                await until(lambda: queued(core, "ident") == 5, "five requests queue")
            responses = [await first, *await asyncio.gather(*tasks)]
            for response, sent in zip(responses, data, strict=True):
                assert np.array_equal(response.outputs[0].data, sent)
            (stats,) = core.model_statistics("ident")
            assert stats.execution_count == 3  # first alone, then width 3 and width 2 apart
            assert sorted(size for size, _ in stats.batch_stats) == [2, 4, 6]

    run(scenario())


def test_reaching_a_preferred_batch_size_dispatches_without_waiting_out_the_delay(repo: Path) -> None:
    yaml = "batching: {max_batch_size: 8, max_queue_delay_us: 600000000, preferred_batch_sizes: [4]}\n"
    write_model(repo, "adder", 1, add_model(), yaml)

    async def scenario() -> None:
        async with serving(repo) as core:
            tasks = [asyncio.ensure_future(core.infer(adder_request(i, 1))) for i in range(6)]
            await until(lambda: sum(t.done() for t in tasks) == 4, "a preferred batch of four ran")
            pending = [t for t in tasks if not t.done()]
            assert len(pending) == 2  # they wait for company (ten minutes)
            assert queued(core, "adder") == 2
            assert [size for size, _ in core.model_statistics("adder")[0].batch_stats] == [4]
            await core.stop(0)
            for task in pending:
                with pytest.raises(ServerDraining):
                    await task

    run(scenario())


def test_reaching_max_batch_size_dispatches_at_once(repo: Path) -> None:
    write_model(
        repo, "adder", 1, add_model(), "batching: {max_batch_size: 5, max_queue_delay_us: 600000000}\n"
    )

    async def scenario() -> None:
        async with serving(repo) as core:
            requests = [adder_request(i, 1) for i in range(5)]
            responses = await asyncio.wait_for(asyncio.gather(*(core.infer(r) for r in requests)), 30)
            assert all(own_rows(resp, req) for resp, req in zip(responses, requests, strict=True))
            assert core.model_statistics("adder")[0].execution_count == 1

    run(scenario())


def test_a_full_batching_queue_refuses_with_queue_full(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model(), "batching: {max_batch_size: 4, max_queue_size: 3}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            with blocked_runs(core, "adder"):
                first = asyncio.ensure_future(core.infer(adder_request(0, 1)))
                await until(lambda: dispatched(core, "adder"), "the first request is dispatched")
                waiting = [asyncio.ensure_future(core.infer(adder_request(i, 1))) for i in range(1, 4)]
                await until(lambda: queued(core, "adder") == 3, "three requests queue")
                with pytest.raises(QueueFull, match="3 requests waiting"):
                    await core.infer(adder_request(9, 1))
            await asyncio.gather(first, *waiting)

    run(scenario())


def test_a_full_unbatched_queue_refuses_with_queue_full(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model(), "batching: false\nconcurrency: 1\nmax_queue_size: 2\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            with blocked_runs(core, "adder"):
                calls = [asyncio.ensure_future(core.infer(adder_request(i, 1))) for i in range(3)]
                await until(lambda: queued(core, "adder") == 2, "one runs, two wait")
                with pytest.raises(QueueFull):
                    await core.infer(adder_request(9, 1))
            responses = await asyncio.gather(*calls)
            assert [r.outputs[0].data[0, 0] for r in responses] == [1.0, 101.0, 201.0]
            assert core.model_statistics("adder")[0].execution_count == 3

    run(scenario())


@pytest.mark.parametrize("yaml", ["batching: {max_batch_size: 8}\n", "batching: false\nconcurrency: 1\n"])
def test_a_request_whose_deadline_passes_while_queued_is_dropped_and_never_run(repo: Path, yaml: str) -> None:
    write_model(repo, "adder", 1, add_model(), yaml)

    async def scenario() -> None:
        async with serving(repo) as core:
            with blocked_runs(core, "adder"):
                first = asyncio.ensure_future(core.infer(adder_request(0, 1)))
                await until(lambda: dispatched(core, "adder"), "the first request is dispatched")
                with pytest.raises(DeadlineExceeded, match="not run"):
                    await core.infer(adder_request(1, 1, deadline=time.monotonic() + 0.05))
                assert queued(core, "adder") == 0
            await first
            (stats,) = core.model_statistics("adder")
            assert stats.execution_count == 1
            assert stats.inference_count == 1
            assert stats.fail.count == 1

    run(scenario())


def test_a_request_past_its_deadline_on_arrival_is_not_run(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            with pytest.raises(DeadlineExceeded):
                await core.infer(adder_request(1, 1, deadline=time.monotonic() - 1))
            assert core.model_statistics("adder")[0].execution_count == 0

    run(scenario())


@pytest.mark.parametrize("yaml", ["batching: {max_batch_size: 8}\n", "batching: false\nconcurrency: 1\n"])
def test_a_cancelled_callers_queued_request_is_dropped(repo: Path, yaml: str) -> None:
    write_model(repo, "adder", 1, add_model(), yaml)

    async def scenario() -> None:
        async with serving(repo) as core:
            with blocked_runs(core, "adder"):
                first = asyncio.ensure_future(core.infer(adder_request(0, 1)))
                await until(lambda: dispatched(core, "adder"), "the first request is dispatched")
                doomed = asyncio.ensure_future(core.infer(adder_request(1, 1)))
                await until(lambda: queued(core, "adder") == 1, "the second request queues")
                doomed.cancel()
                await until(lambda: queued(core, "adder") == 0, "the cancelled request leaves the queue")
            await first
            after = await core.infer(adder_request(2, 1))
            assert own_rows(after, adder_request(2, 1))
            (stats,) = core.model_statistics("adder")
            assert stats.execution_count == 2  # the first and the last; never the cancelled one
            assert doomed.cancelled()

    run(scenario())


def test_an_output_whose_leading_axis_is_not_the_batch_fails_merged_batches_clearly(repo: Path) -> None:
    write_model(repo, "doubler", 1, doubling_model(), "batching: {max_batch_size: 8}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            x = Tensor("x", "FP32", np.ones((1, 2), np.float32))
            alone = await core.infer(InferRequest("doubler", [x]))
            assert alone.outputs[0].data.shape == (2, 2)
            with blocked_runs(core, "doubler"):
                first = asyncio.ensure_future(core.infer(InferRequest("doubler", [x])))
                await until(lambda: dispatched(core, "doubler"), "the first request is dispatched")
                merged = [asyncio.ensure_future(core.infer(InferRequest("doubler", [x]))) for _ in range(2)]
                await until(lambda: queued(core, "doubler") == 2, "two requests queue")
            await first
            for call in merged:
                with pytest.raises(RuntimeFailure, match="batching: false"):
                    await call

    run(scenario())


def test_a_queued_request_waits_for_company_within_the_queue_delay(repo: Path) -> None:
    write_model(
        repo, "adder", 1, add_model(), "batching: {max_batch_size: 3, max_queue_delay_us: 600000000}\n"
    )

    async def scenario() -> None:
        async with serving(repo) as core:
            lonely = asyncio.ensure_future(core.infer(adder_request(0, 1)))
            await until(lambda: queued(core, "adder") == 1, "the first request queues")
            for _ in range(20):
                await asyncio.sleep(0)
            assert not lonely.done()  # still waiting for company
            company = [adder_request(i, 1) for i in (1, 2)]
            responses = await asyncio.gather(*(core.infer(r) for r in company))
            assert own_rows(await lonely, adder_request(0, 1))
            assert all(own_rows(resp, req) for resp, req in zip(responses, company, strict=True))
            assert [size for size, _ in core.model_statistics("adder")[0].batch_stats] == [3]

    run(scenario())


def test_a_lone_request_runs_once_the_queue_delay_is_over(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model(), "batching: {max_batch_size: 64, max_queue_delay_us: 20000}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            response = await asyncio.wait_for(core.infer(adder_request(7, 2)), 30)
            assert own_rows(response, adder_request(7, 2))
            assert [size for size, _ in core.model_statistics("adder")[0].batch_stats] == [2]

    run(scenario())


@pytest.mark.parametrize("yaml", ["batching: {max_batch_size: 8}\n", "batching: false\nconcurrency: 1\n"])
def test_stopping_without_grace_fails_waiting_requests_with_server_draining(repo: Path, yaml: str) -> None:
    write_model(repo, "adder", 1, add_model(), yaml)

    async def scenario() -> None:
        async with serving(repo) as core:
            with blocked_runs(core, "adder"):
                dispatched_one = asyncio.ensure_future(core.infer(adder_request(0, 1)))
                await until(lambda: dispatched(core, "adder"), "the first request is dispatched")
                queued_one = asyncio.ensure_future(core.infer(adder_request(1, 1)))
                await until(lambda: queued(core, "adder") == 1, "the second request queues")
                await core.stop(0)
            for call in (dispatched_one, queued_one):
                with pytest.raises(ServerDraining):
                    await call
            assert core.model_statistics() == []

    run(scenario())
