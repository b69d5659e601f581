"""Many callers at once: batching never mixes rows up, and model reloads never fail a call in flight."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tritonclient.grpc as triton

from tests.support.gateway_process import GatewayProcess
from tests.support.onnx_zoo import SLOW_ITERATIONS_PER_SECOND
from tests.support.triton_calls import infer, inputs_for, wait_until_in_flight

CALLERS = 8
CALLS_EACH = 12


def test_concurrent_callers_with_mixed_batch_sizes_each_get_exactly_their_rows(
    gateway: GatewayProcess,
) -> None:
    def caller(index: int) -> list[str]:
        rng = np.random.default_rng(index)
        problems = []
        with triton.InferenceServerClient(gateway.address) as client:
            for call in range(CALLS_EACH):
                rows = int(rng.integers(1, 9))
                a = (index * 1000 + call * 10 + np.arange(rows * 4)).astype(np.float32).reshape(rows, 4)
                b = rng.standard_normal((rows, 4)).astype(np.float32)
                result = client.infer("add_sub", inputs_for(INPUT0=a, INPUT1=b), request_id=f"{index}-{call}")
                if result.get_response().id != f"{index}-{call}":
                    problems.append(f"caller {index} call {call}: id {result.get_response().id}")
                if not np.array_equal(result.as_numpy("OUTPUT0"), a + b):
                    problems.append(f"caller {index} call {call}: wrong sum rows")
                if not np.array_equal(result.as_numpy("OUTPUT1"), a - b):
                    problems.append(f"caller {index} call {call}: wrong difference rows")
        return problems

    with ThreadPoolExecutor(CALLERS) as pool:
        problems = [p for found in pool.map(caller, range(CALLERS)) for p in found]
    assert problems == []


def test_reloading_and_unloading_models_under_load_fails_no_call(
    gateway: GatewayProcess, client: triton.InferenceServerClient
) -> None:
    stop = threading.Event()
    counts: list[int] = []
    errors: list[str] = []

    def hammer() -> None:
        done = 0
        x = np.ones((3, 4), np.float32)
        with triton.InferenceServerClient(gateway.address) as own:
            while not stop.is_set():
                try:
                    np.testing.assert_array_equal(
                        infer(own, "add_sub", INPUT0=x, INPUT1=x).as_numpy("OUTPUT0"), 2 * x
                    )
                    done += 1
                except Exception as exc:
                    errors.append(repr(exc))
        counts.append(done)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            client.load_model("add_sub")  # reload beside the serving version, then swap
            client.unload_model("scratch")
            client.load_model("scratch")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sum(counts) > 0
    assert client.is_model_ready("add_sub") and client.is_model_ready("scratch")


def test_unloading_a_model_lets_its_in_flight_requests_finish(
    gateway: GatewayProcess, client: triton.InferenceServerClient
) -> None:
    n = np.array([int(0.5 * SLOW_ITERATIONS_PER_SECOND)], dtype=np.int64)
    outcome: list[object] = []
    caller = threading.Thread(
        target=lambda: outcome.append(infer(client, "slow", n=n, x=np.zeros(1, np.float32)).as_numpy("y"))
    )
    caller.start()
    wait_until_in_flight(gateway.metrics_port, "slow", 1)
    try:
        client.unload_model("slow")
    finally:
        caller.join()
        client.load_model("slow")
    assert len(outcome) == 1
    np.testing.assert_array_equal(outcome[0], n.astype(np.float32))
