"""Fixtures shared across test folders: a RabbitMQ broker (found or started; see tests/support/broker.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.broker import Broker, BrokerNotFound, find_broker


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
