"""Fault tests of the gateway (RELIABILITY.md T15, T17): real ``bridgeway serve`` processes, stock clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.onnx_zoo import build_repository


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("zoo"))
