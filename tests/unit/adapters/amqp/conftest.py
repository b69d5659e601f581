"""Fixtures for the AMQP adapter's pure logic: an in-memory channel (only what the publisher calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class FakeChannel:
    """Records ``basic_publish`` calls the way a pika channel in confirm mode numbers them (1, 2, ...)."""

    published: list[tuple[str, str, bytes, Any, bool]] = field(default_factory=list)
    is_open: bool = True

    def basic_publish(
        self, exchange: str, routing_key: str, body: bytes, properties: Any, mandatory: bool
    ) -> None:
        self.published.append((exchange, routing_key, body, properties, mandatory))


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()
