"""Fixtures for AMQP adapter tests against a real broker: unique queue names, deleted afterwards."""

from __future__ import annotations

import pytest

from tests.support.amqp_adapter import Names
from tests.support.broker import Broker


@pytest.fixture
def names(broker: Broker) -> Names:
    return Names.create(broker)
