"""Composition of one AMQP pipeline: settings + inference client -> a running consumer.

``AmqpPipeline(settings, client, stop).run()`` blocks until ``stop`` is set and every delivery is settled.
:func:`amqp_source` is the factory ``bridgeway run`` registers for ``source.kind: amqp``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

from adapters.amqp.connection import connection_parameters
from adapters.amqp.consumer import AmqpConsumer
from adapters.amqp.events import EventSink, ignore_events
from adapters.amqp.formats import formats_for
from adapters.amqp.scoring import BatchScorer
from adapters.amqp.settings import AmqpPipelineSettings
from adapters.amqp.store import ProcessedStore
from adapters.client.base import InferenceClient
from adapters.pipeline import ScoringPipeline
from gateway.errors import BridgewayError

__all__ = ["AmqpPipeline", "amqp_source"]

log = logging.getLogger(__name__)

_MODEL_WAIT_S = (0.5, 10.0)  # back-off while the model is not ready yet at start-up: first, cap


class AmqpPipeline:
    """One AMQP pipeline. ``environ`` is where ``source.url_env`` is looked up (the process environment in
    ``bridgeway run``). ``events`` receives the adapter's events (see ``adapters.amqp.events``)."""

    def __init__(
        self,
        settings: AmqpPipelineSettings,
        client: InferenceClient,
        stop: threading.Event,
        *,
        environ: Mapping[str, str],
        events: EventSink = ignore_events,
    ) -> None:
        self.settings = settings
        self._client = client
        self._stop = stop
        self._events = events
        self._parameters = connection_parameters(settings.source, environ, f"bridgeway:{settings.name}")
        self.consumer: AmqpConsumer | None = None

    def run(self) -> None:
        """Serve until stopped. Raises MappingConfigError / ModelNotFound for a pipeline that cannot work,
        TopologyError when the broker refuses the setup."""
        pipeline = self._scoring_pipeline()
        if pipeline is None:
            return
        source = self.settings.source
        store = ProcessedStore(
            source.state_dir / f"amqp-{_file_name(self.settings.name)}.sqlite3", source.dedupe_ttl_s
        )
        try:
            topology = source.topology
            scorer = BatchScorer(
                pipeline,
                store,
                formats_for(self.settings),
                delivery_limit=topology.delivery_limit if topology.declare else None,
                has_fixed_destination=self.settings.output.exchange is not None,
            )
            self.consumer = AmqpConsumer(
                self.settings, scorer, store, self._parameters, self._stop, self._events
            )
            self.consumer.run()
        finally:
            store.close()

    __call__ = run

    def _scoring_pipeline(self) -> ScoringPipeline | None:
        """The scoring pipeline, waiting (with back-off) while the model is not ready; None when stopped."""
        delay = _MODEL_WAIT_S[0]
        while True:
            try:
                return ScoringPipeline(self._client, self.settings.model, carry=self.settings.carry)
            except BridgewayError as exc:
                if not exc.retryable:
                    raise
                log.warning(
                    "amqp %s: model not available yet (%s); retrying in %.1f s",
                    self.settings.name,
                    exc,
                    delay,
                )
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, _MODEL_WAIT_S[1])


def amqp_source(pipeline_config: Any, client: InferenceClient, stop: threading.Event) -> AmqpPipeline:
    """Factory for ``bridgeway run``: a pipeline entry of bridgeway.yaml (a mapping or a model with
    ``model_dump``) with ``source.kind: amqp``."""
    import os

    raw = pipeline_config.model_dump() if hasattr(pipeline_config, "model_dump") else dict(pipeline_config)
    settings = AmqpPipelineSettings.model_validate(raw)
    return AmqpPipeline(settings, client, stop, environ=os.environ)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
