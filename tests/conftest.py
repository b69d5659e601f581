"""Shared across test folders: markers by folder, and a RabbitMQ broker (see tests/support/broker.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker, BrokerNotFound, find_broker

TESTS = Path(__file__).parent
# Every test below one of these folders gets the markers (described in pyproject.toml), so `-m` can select
# the fast unit tests without each folder's conftest saying so again.
FOLDER_MARKERS = {
    TESTS / "integration": ("integration",),
    TESTS / "fault": ("integration",),
    TESTS / "fault" / "gateway": ("slow",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parents = Path(item.fspath).parents
        for folder, markers in FOLDER_MARKERS.items():
            if folder in parents:
                for marker in markers:
                    item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """The URL of a running broker. Without one: a failure when CI is set, else a skip that says why."""
    try:
        with find_broker() as url:
            yield url
    except BrokerNotFound as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a RabbitMQ broker: {exc}")
        pytest.skip(f"NO RABBITMQ BROKER, broker tests skipped: {exc}")


@pytest.fixture
def broker(rabbitmq_url: str) -> Iterator[Broker]:
    """The broker for one test; the queues and exchanges it names or tracks are deleted afterwards."""
    admin = Broker(rabbitmq_url)
    yield admin
    admin.cleanup()
