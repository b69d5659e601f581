"""``bridgeway serve --config FILE --log-level DEBUG``: settings from the file, request ids in the log."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as triton

from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.triton_calls import failure, infer, inputs_for

FOUR_MIB = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def debug_gateway(zoo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = tmp_path_factory.mktemp("config") / "gateway.yaml"
    config.write_text(f"max_receive_message_bytes: {FOUR_MIB}\ndrain_grace_s: 2\n", encoding="utf-8")
    with gateway_process(zoo_dir, ["--config", str(config), "--log-level", "DEBUG"]) as gateway:
        yield gateway


def logged(gateway: GatewayProcess, **fields: Any) -> dict[str, Any]:
    """The first log line carrying all ``fields`` (waits briefly: the log is read on another thread)."""
    deadline = time.monotonic() + 5
    while True:
        for line in list(gateway.log_lines):
            if all(line.get(key) == value for key, value in fields.items()):
                return line
        assert time.monotonic() < deadline, f"no log line with {fields}"
        time.sleep(0.02)


def test_message_size_limit_comes_from_the_config_file(debug_gateway: GatewayProcess) -> None:
    with triton.InferenceServerClient(debug_gateway.address) as client:
        big = np.zeros((FOUR_MIB // 8 + 1024, 2), np.float32)  # just over 4 MiB
        code, message = failure(lambda: infer(client, "scratch", X=big))
        assert code == "RESOURCE_EXHAUSTED"
        assert "larger than max" in message
        small = np.ones((4, 2), np.float32)
        np.testing.assert_array_equal(infer(client, "scratch", X=small).as_numpy("Y"), small)


def test_access_log_carries_the_callers_request_id_from_metadata(debug_gateway: GatewayProcess) -> None:
    x = np.ones((1, 2), np.float32)
    with triton.InferenceServerClient(debug_gateway.address) as client:
        client.infer("scratch", inputs_for(X=x), headers={"x-request-id": "trace-123"})
    line = logged(debug_gateway, event="call", request_id="trace-123")
    assert line["method"] == "/inference.GRPCInferenceService/ModelInfer"
    assert line["code"] == "OK"
    assert line["duration_ms"] >= 0


def test_refused_request_is_logged_under_its_inference_id(debug_gateway: GatewayProcess) -> None:
    with triton.InferenceServerClient(debug_gateway.address) as client:
        code, _ = failure(
            lambda: client.infer("scratch", inputs_for(X=np.ones((1, 3), np.float32)), request_id="bad-1")
        )
    assert code == "INVALID_ARGUMENT"
    refused = logged(debug_gateway, request_id="bad-1", code="INVALID_ARGUMENT", level="INFO")
    assert "expected shape" in refused["event"]
    assert "exception" not in refused
    assert logged(debug_gateway, event="call", request_id="bad-1")["code"] == "INVALID_ARGUMENT"


def test_calls_without_an_id_get_a_generated_one(debug_gateway: GatewayProcess) -> None:
    with triton.InferenceServerClient(debug_gateway.address) as client:
        assert client.is_server_live()
    line = logged(debug_gateway, event="call", method="/inference.GRPCInferenceService/ServerLive")
    assert len(line["request_id"]) == 32


def test_a_port_already_in_use_exits_1_naming_the_address(zoo_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [
            sys.executable,
            "-c",
            "from adapters.cli import main; main(prog_name='bridgeway')",
            "serve",
        ]
        command += ["--models", str(zoo_dir), "--port", str(port), "--metrics-port", "0"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    (failure_line,) = [line for line in lines if line["event"] == "cannot start"]
    assert f"127.0.0.1:{port}" in failure_line["reason"]
    assert not [line for line in lines if line["event"] in ("listening", "draining")]
