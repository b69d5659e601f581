"""SIGTERM: health goes NOT_SERVING, new calls get UNAVAILABLE, calls in flight finish, exit code 0."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.onnx_zoo import SLOW_ITERATIONS_PER_SECOND
from tests.support.triton_calls import failure, inputs_for, wait_until_in_flight

IN_FLIGHT = 3


def wait_for_not_serving(gateway: GatewayProcess) -> None:
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(gateway.address))
    deadline = time.monotonic() + 10
    while stub.Check(health_pb2.HealthCheckRequest()).status != health_pb2.HealthCheckResponse.NOT_SERVING:
        assert time.monotonic() < deadline, "health never went NOT_SERVING after SIGTERM"
        time.sleep(0.01)


def test_sigterm_drains_in_flight_calls_refuses_new_ones_and_exits_0(zoo_dir: Path) -> None:
    n = np.array([int(0.4 * SLOW_ITERATIONS_PER_SECOND)], dtype=np.int64)
    results: list[object] = []

    with gateway_process(zoo_dir) as gateway, triton.InferenceServerClient(gateway.address) as client:

        def call() -> None:
            try:
                results.append(client.infer("slow", inputs_for(n=n, x=np.ones(1, np.float32))).as_numpy("y"))
            except triton.InferenceServerException as exc:
                results.append(exc)

        callers = [threading.Thread(target=call) for _ in range(IN_FLIGHT)]
        for caller in callers:
            caller.start()
        # slow runs one request at a time: one runs, the others wait in its queue.
        wait_until_in_flight(gateway.metrics_port, "slow", IN_FLIGHT)
        gateway.process.send_signal(signal.SIGTERM)
        wait_for_not_serving(gateway)
        refused = failure(lambda: client.infer("add_sub", inputs_for(INPUT0=np.ones((1, 4), np.float32))))
        for caller in callers:
            caller.join()
        exit_code = gateway.process.wait(timeout=30)

    assert refused[0] == "UNAVAILABLE"
    assert "shutting down" in refused[1]
    assert len(results) == IN_FLIGHT
    for result in results:
        assert isinstance(result, np.ndarray), result
        np.testing.assert_array_equal(result, n.astype(np.float32))
    assert exit_code == 0
    events = [line.get("event") for line in gateway.log_lines]
    assert events.index("draining") < events.index("stopped")
