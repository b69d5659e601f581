"""One real ``bridgeway serve`` process over a model zoo built with onnx.helper, shared by the whole session.

Tests that need a server of their own (drain on SIGTERM, the committed example models) start one in their
module. Everything talks to the gateway over loopback with the stock ``tritonclient.grpc``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tritonclient.grpc as triton

from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.onnx_zoo import build_repository


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def gateway(zoo_dir: Path) -> Iterator[GatewayProcess]:
    with gateway_process(zoo_dir) as process:
        yield process


@pytest.fixture(scope="session")
def client(gateway: GatewayProcess) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(gateway.address) as connection:
        yield connection
