"""The inference core end to end in process: metadata, errors, datatypes, lineage, drain, load and unload."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import numpy as np
import pytest
from gateway_testkit import (
    CORRUPT,
    add_model,
    blocked_runs,
    bool_model,
    fixed_model,
    fp16_model,
    matmul_model,
    run,
    scalar_model,
    serving,
    string_model,
    unsupported_op_model,
    until,
    write_model,
)

from gateway.config import ServerSettings
from gateway.core import InferenceCore
from gateway.errors import InvalidInput, ModelLoadFailed, ModelNotFound, ModelNotReady, ServerDraining
from gateway.types import InferRequest, InferResponse, Tensor, TensorSpec


def adder_request(value: float = 1.0, rows: int = 2, version: str = "") -> InferRequest:
    a = np.full((rows, 4), value, np.float32)
    b = np.ones((rows, 4), np.float32)
    return InferRequest("adder", [Tensor("a", "FP32", a), Tensor("b", "FP32", b)], model_version=version)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output(response: InferResponse, name: str) -> np.ndarray:
    return next(t.data for t in response.outputs if t.name == name)


def test_a_model_without_model_yaml_serves_metadata_from_its_graph(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())
    write_model(repo, "fixed", 1, fixed_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            meta = core.model_metadata("adder")
            assert (meta.name, meta.versions, meta.platform) == ("adder", ("1",), "onnxruntime_onnx")
            assert meta.inputs == (TensorSpec("a", "FP32", (-1, 4)), TensorSpec("b", "FP32", (-1, 4)))
            batched = core.model_config("adder")
            assert batched.max_batch_size > 0
            assert batched.inputs == (TensorSpec("a", "FP32", (4,)), TensorSpec("b", "FP32", (4,)))
            unbatched = core.model_config("fixed")
            assert (unbatched.max_batch_size, unbatched.batching) == (0, None)
            assert unbatched.inputs == (TensorSpec("x", "FP32", (2, 3)),)

    run(scenario())


def test_model_config_carries_model_yaml_description_fields_and_batching(repo: Path) -> None:
    columns = ", ".join(f"f{i}" for i in range(30))
    yaml = f"""
description: scores things
inputs: {{features: {{fields: [{columns}]}}}}
outputs: {{scores: {{fields: [low, high]}}}}
batching: {{max_batch_size: 16, max_queue_delay_us: 250, preferred_batch_sizes: [8]}}
"""
    write_model(repo, "scorer", 1, matmul_model(), yaml)

    async def scenario() -> None:
        async with serving(repo) as core:
            config = core.model_config("scorer")
            assert config.description == "scores things"
            assert config.input_fields[0].tensor == "features"
            assert config.input_fields[0].fields[:2] == ("f0", "f1")
            assert config.output_fields[0].fields == ("low", "high")
            assert config.batching is not None
            assert (config.max_batch_size, config.batching.preferred_batch_sizes) == (16, (8,))

    run(scenario())


def test_a_field_mapping_that_contradicts_the_graph_fails_the_load_with_the_key(repo: Path) -> None:
    write_model(
        repo, "scorer", 1, matmul_model(), "inputs: {features: {fields: [a, b]}, extra: {field: c}}\n"
    )

    async def scenario() -> None:
        async with serving(repo) as core:
            (entry,) = core.repository_index()
            assert entry.state == "UNAVAILABLE"
            assert "inputs.features.fields: 2 fields for a tensor of 30 columns" in entry.reason
            assert "inputs.extra: the model has no such input" in entry.reason

    run(scenario())


def test_failed_models_are_reported_with_reasons_while_the_others_serve(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())
    write_model(repo, "corrupt", 1, CORRUPT)
    write_model(repo, "exotic", 1, unsupported_op_model())
    write_model(repo, "misconfigured", 1, add_model(), "batching: {max_batch_size: -1}\n")

    async def scenario() -> None:
        async with serving(repo) as core:
            assert core.server_ready()
            index = {(e.name, e.version): e for e in core.repository_index()}
            assert index["adder", "1"].state == "READY"
            assert index["corrupt", "1"].state == "UNAVAILABLE"
            assert "Protobuf parsing failed" in index["corrupt", "1"].reason
            assert "NoSuchOperator" in index["exotic", "1"].reason
            assert "misconfigured/model.yaml: batching.max_batch_size" in index["misconfigured", ""].reason
            assert [e.name for e in core.repository_index(ready_only=True)] == ["adder"]
            for name in ("corrupt", "exotic", "misconfigured"):
                assert not core.model_ready(name)
                with pytest.raises(ModelLoadFailed):
                    await core.infer(InferRequest(name, []))
            with pytest.raises(ModelLoadFailed, match="Protobuf parsing failed"):
                core.model_metadata("corrupt")
            assert (output(await core.infer(adder_request(2.0)), "sum") == 3.0).all()

    run(scenario())


def test_unknown_models_and_versions_are_not_found(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            with pytest.raises(ModelNotFound, match="unknown model 'nope'"):
                await core.infer(InferRequest("nope", []))
            with pytest.raises(ModelNotFound, match=r"has no version '7' \(versions: 1\)"):
                await core.infer(adder_request(version="7"))
            with pytest.raises(ModelNotFound):
                core.model_metadata("adder", "7")
            assert not core.model_ready("nope")

    run(scenario())


def test_every_response_names_the_version_and_file_hash_that_produced_it(repo: Path) -> None:
    v1 = write_model(repo, "adder", 1, add_model(0.0), "version_policy: all\n")
    v2 = write_model(repo, "adder", 2, add_model(10.0))

    async def scenario() -> None:
        async with serving(repo) as core:
            default = await core.infer(adder_request(1.0))
            first = await core.infer(adder_request(1.0, version="1"))
            assert (default.model_version, default.model_sha256) == ("2", sha256(v2))
            assert (first.model_version, first.model_sha256) == ("1", sha256(v1))
            assert (output(default, "sum") == 12.0).all()
            assert (output(first, "sum") == 2.0).all()
            assert core.model_metadata("adder").versions == ("1", "2")
            assert [s.version for s in core.model_statistics("adder")] == ["1", "2"]

    run(scenario())


def test_requested_outputs_come_back_alone_and_in_the_requested_order(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            request = adder_request(5.0)
            request.outputs = ["diff"]
            response = await core.infer(request)
            assert [t.name for t in response.outputs] == ["diff"]
            assert (response.outputs[0].data == 4.0).all()
            request.outputs = ["diff", "sum"]
            assert [t.name for t in (await core.infer(request)).outputs] == ["diff", "sum"]
            request.outputs = ["product"]
            with pytest.raises(InvalidInput, match="unknown output 'product'"):
                await core.infer(request)

    run(scenario())


def test_invalid_requests_are_refused_naming_the_input(repo: Path) -> None:
    write_model(repo, "scorer", 1, matmul_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            bad = InferRequest("scorer", [Tensor("features", "FP32", np.zeros((4, 29), np.float32))])
            with pytest.raises(
                InvalidInput, match=r"^input 'features': expected shape \[-1, 30\], got \[4, 29\]$"
            ):
                await core.infer(bad)
            (stats,) = core.model_statistics("scorer")
            assert (stats.fail.count, stats.execution_count) == (1, 0)

    run(scenario())


def test_scalars_half_floats_booleans_and_strings_round_trip(repo: Path) -> None:
    write_model(repo, "scalar", 1, scalar_model())
    write_model(repo, "half", 1, fp16_model())
    write_model(repo, "flags", 1, bool_model())
    write_model(repo, "text", 1, string_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            scalar = await core.infer(
                InferRequest("scalar", [Tensor("x", "FP32", np.array(1.5, np.float32))])
            )
            assert (scalar.outputs[0].datatype, scalar.outputs[0].data.shape) == ("FP32", ())
            assert float(scalar.outputs[0].data) == 3.0
            half = await core.infer(
                InferRequest("half", [Tensor("h", "FP16", np.full((2, 3), 1.5, np.float16))])
            )
            assert half.outputs[0].datatype == "FP16"
            assert half.outputs[0].data.dtype == np.float16
            assert (half.outputs[0].data == 3.0).all()
            flags = np.array([[True, False, True]])
            inverted = await core.infer(InferRequest("flags", [Tensor("flags", "BOOL", flags)]))
            assert inverted.outputs[0].data.tolist() == [[False, True, False]]
            words = np.array([b"caf\xc3\xa9", b"", b"ok"], dtype=object)
            text = await core.infer(InferRequest("text", [Tensor("text", "BYTES", words)]))
            assert text.outputs[0].datatype == "BYTES"
            assert text.outputs[0].data.tolist() == [b"caf\xc3\xa9", b"", b"ok"]

    run(scenario())


def test_draining_refuses_new_work_and_lets_in_flight_requests_finish(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        core = InferenceCore(ServerSettings(models_dir=repo, threads=2))
        await core.start()
        with blocked_runs(core, "adder"):
            in_flight = asyncio.ensure_future(core.infer(adder_request(1.0)))
            await until(lambda: core._resolve("adder", "").scheduler.running() == 1, "a run is in flight")
            stopping = asyncio.ensure_future(core.stop(grace_s=60))
            await until(lambda: not core.server_ready(), "the core drains")
            with pytest.raises(ServerDraining):
                await core.infer(adder_request(1.0))
            assert core.server_live()
            assert not stopping.done()
        response = await in_flight
        await stopping
        assert (output(response, "sum") == 2.0).all()
        assert not core.server_live()
        with pytest.raises(ServerDraining):
            await core.infer(adder_request(1.0))

    run(scenario())


async def load_generator(
    core: InferenceCore, stop: asyncio.Event, results: list[InferResponse | BaseException]
):
    while not stop.is_set():
        try:
            results.append(await core.infer(adder_request(1.0, rows=1)))
        except Exception as exc:  # collected: the test asserts there are none
            results.append(exc)


def test_reloading_under_load_swaps_versions_without_failing_a_request(repo: Path) -> None:
    v1 = write_model(repo, "adder", 1, add_model(0.0))

    async def scenario() -> None:
        async with serving(repo) as core:
            stop, results = asyncio.Event(), []
            workers = [asyncio.ensure_future(load_generator(core, stop, results)) for _ in range(8)]
            await until(lambda: len(results) > 20, "traffic flows")
            await core.load_model("adder")  # same version again: a fresh session swapped in
            v2 = write_model(repo, "adder", 2, add_model(10.0))
            await core.load_model("adder")  # new version: v1 goes once idle
            seen = len(results)
            await until(lambda: len(results) > seen + 20, "traffic flows on v2")
            stop.set()
            await asyncio.gather(*workers)
            failures = [r for r in results if isinstance(r, BaseException)]
            assert failures == []
            lineage = {(r.model_version, r.model_sha256, float(output(r, "sum")[0, 0])) for r in results}
            assert lineage == {("1", sha256(v1), 2.0), ("2", sha256(v2), 12.0)}
            assert results[-1].model_version == "2"
            await until(lambda: [e.version for e in core.repository_index()] == ["2"], "v1 leaves the index")

    run(scenario())


def test_a_reload_whose_new_version_is_broken_keeps_the_old_one_serving(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model(0.0))

    async def scenario() -> None:
        async with serving(repo) as core:
            write_model(repo, "adder", 2, CORRUPT)
            with pytest.raises(
                ModelLoadFailed, match=r"Protobuf parsing failed.*still serving version\(s\) 1"
            ):
                await core.load_model("adder")
            response = await core.infer(adder_request(1.0))
            assert response.model_version == "1"
            states = {e.version: e.state for e in core.repository_index()}
            assert states == {"1": "READY", "2": "UNAVAILABLE"}

    run(scenario())


def test_unloading_under_load_finishes_in_flight_requests_then_refuses(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            states: list[tuple[str, str, str]] = []
            core.add_state_listener(lambda *change: states.append(change))
            with blocked_runs(core, "adder"):
                in_flight = [asyncio.ensure_future(core.infer(adder_request(float(i)))) for i in range(5)]
                await until(lambda: core._resolve("adder", "").scheduler.running() == 1, "runs are in flight")
                unloading = asyncio.ensure_future(core.unload_model("adder"))
                await until(lambda: not core.model_ready("adder"), "the model stops taking requests")
                with pytest.raises(ModelNotReady, match="unloading"):
                    await core.infer(adder_request())
            await unloading
            responses = await asyncio.gather(*in_flight)
            assert [float(output(r, "sum")[0, 0]) for r in responses] == [1.0, 2.0, 3.0, 4.0, 5.0]
            with pytest.raises(ModelNotReady, match="not loaded"):
                await core.infer(adder_request())
            assert core.repository_index() == core.repository_index(ready_only=False)
            (entry,) = core.repository_index()
            assert (entry.state, entry.reason) == ("UNAVAILABLE", "unloaded")
            assert states == [("adder", "1", "UNLOADING"), ("adder", "1", "UNAVAILABLE")]
            await core.load_model("adder")
            assert core.model_ready("adder")
            assert (await core.infer(adder_request())).model_version == "1"
            with pytest.raises(ModelNotFound):
                await core.unload_model("../etc")
            with pytest.raises(ModelNotFound):
                await core.load_model("absent")

    run(scenario())


def test_observers_hear_about_requests_and_batches(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    class Recorder:
        def __init__(self) -> None:
            self.events: list[tuple[object, ...]] = []

        def request_started(self, model: str, version: str) -> None:
            self.events.append(("started", model, version))

        def request_finished(
            self, model: str, version: str, ok: bool, queue_s: float, compute_s: float, total_s: float
        ) -> None:
            self.events.append(("finished", model, version, ok, total_s >= compute_s >= 0))

        def batch_executed(self, model: str, version: str, batch_size: int, compute_s: float) -> None:
            self.events.append(("batch", model, version, batch_size))

    async def scenario() -> None:
        async with serving(repo) as core:
            recorder = Recorder()
            core.add_observer(recorder)
            await core.infer(adder_request(rows=3))
            with pytest.raises(ModelNotFound):
                await core.infer(InferRequest("nope", []))
            assert recorder.events == [
                ("started", "adder", "1"),
                ("batch", "adder", "1", 3),
                ("finished", "adder", "1", True, True),
                ("finished", "nope", "", False, True),
            ]

    run(scenario())


def test_each_session_gets_a_share_of_the_thread_budget(repo: Path) -> None:
    write_model(repo, "a", 1, add_model())
    write_model(repo, "b", 1, add_model())
    write_model(repo, "c", 1, add_model(), "threads: 3\n")

    async def scenario() -> None:
        async with serving(repo, threads=8) as core:
            threads = {
                name: core._resolve(name, "").session._session.get_session_options().intra_op_num_threads
                for name in ("a", "b", "c")
            }
            assert threads == {"a": 2, "b": 2, "c": 3}  # 8 // 3 models; c overrides

    run(scenario())


def test_a_model_copied_in_after_start_serves_once_loaded(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())

    async def scenario() -> None:
        async with serving(repo) as core:
            write_model(repo, "late", 1, scalar_model())
            with pytest.raises(ModelNotFound):
                await core.infer(InferRequest("late", [Tensor("x", "FP32", np.array(2.0, np.float32))]))
            await core.load_model("late")
            response = await core.infer(
                InferRequest("late", [Tensor("x", "FP32", np.array(2.0, np.float32))])
            )
            assert float(response.outputs[0].data) == 4.0
            assert core.model_names() == ["adder", "late"]

    run(scenario())
