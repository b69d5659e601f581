"""Fault tests of the gateway (RELIABILITY.md T15, T17): real ``bridgeway serve`` processes, stock clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.onnx_zoo import build_repository

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("zoo"))
