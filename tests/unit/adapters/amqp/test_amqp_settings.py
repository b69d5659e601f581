"""AMQP pipeline settings: bridgeway.yaml's source keys, defaults, credentials from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.amqp.settings import AmqpPipelineSettings, AmqpSourceSettings
from adapters.amqp.topology import request_queue_arguments
from adapters.config import parse_config


def _source(**extra: object) -> AmqpSourceSettings:
    return AmqpSourceSettings.model_validate(
        {"url": "amqp://app@broker:5671/claims", "queue": "req", **extra}
    )


def test_the_design_example_source_loads_and_names_its_dead_letter_topology(tmp_path: Path) -> None:
    raw = {
        "pipelines": [
            {
                "name": "scoring-queue",
                "model": "breast-cancer",
                "source": {
                    "kind": "amqp",
                    "url": "amqp://guest:guest@127.0.0.1:5672/%2F",
                    "queue": "bridgeway.requests",
                    "prefetch": 512,
                    "batch": {"max_messages": 256, "max_wait_ms": 5},
                },
                "input": {"format": "json"},
                "output": {"format": "json"},
            }
        ]
    }
    settings = AmqpPipelineSettings.from_config(parse_config(raw, tmp_path).pipelines[0])
    assert (settings.source.prefetch, settings.source.batch.max_messages) == (512, 256)
    assert settings.source.dead_letters == ("bridgeway.requests.dlx", "bridgeway.requests.dead")
    assert request_queue_arguments(settings.source)["x-delivery-limit"] == 3


def test_the_password_can_come_from_the_environment_and_its_absence_is_named() -> None:
    source = _source(password_env="BROKER_PASSWORD")
    assert (
        source.resolved_url({"BROKER_PASSWORD": "p@ss:word"}) == "amqp://app:p%40ss%3Aword@broker:5671/claims"
    )
    with pytest.raises(ValueError, match="BROKER_PASSWORD is not set"):
        source.resolved_url({})


def test_the_url_never_shows_in_the_settings_repr() -> None:
    assert "guest" not in repr(_source(url="amqp://guest:secret@h/%2F"))


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="prefech"):
        _source(prefech=10)
