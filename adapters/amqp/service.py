"""Composition of one AMQP pipeline: settings + inference client -> a running consumer.

``AmqpPipeline(settings, client, stop, environ=...).run()`` blocks until ``stop`` is set and every delivery
is settled. :func:`amqp_source` is the factory ``bridgeway run`` registers for ``source.kind: amqp``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

from adapters.amqp.connection import connection_parameters
from adapters.amqp.consumer import AmqpConsumer
from adapters.amqp.errors import AmqpError
from adapters.amqp.events import EventSink, ignore_events
from adapters.amqp.formats import formats_for
from adapters.amqp.scoring import BatchScorer
from adapters.amqp.settings import AmqpPipelineSettings
from adapters.amqp.store import ProcessedStore
from adapters.audit import PipelineAudit
from adapters.client.base import InferenceClient
from adapters.codecs.errors import CodecError
from adapters.config import Pipeline
from adapters.pipeline import MappingConfigError, MappingOverride, ScoringPipeline
from gateway.errors import BridgewayError
from gateway.types import TensorFields

__all__ = ["AmqpPipeline", "amqp_source"]

log = logging.getLogger(__name__)

_MODEL_WAIT_S = (0.5, 10.0)  # back-off while the model is not ready yet at start-up: first, cap


class AmqpPipeline:
    """One AMQP pipeline. ``environ`` is where ``source.password_env`` is looked up (the process environment
    in ``bridgeway run``). ``events`` receives the adapter's events (see ``adapters.amqp.events``)."""

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
        self.failure: BaseException | None = None

    def run(self) -> None:
        """Serve until stopped, then drain and return. A pipeline that cannot work (the model is unknown or
        its fields do not map, the broker refuses the credentials or the topology) logs why and returns,
        with the error in :attr:`failure` (``bridgeway run``'s contract: ``run`` does not raise for them)."""
        try:
            self._serve()
        except (AmqpError, BridgewayError, CodecError, MappingConfigError, ValueError, OSError) as exc:
            self.failure = exc
            log.error("amqp pipeline %s stopped: %s: %s", self.settings.name, type(exc).__name__, exc)

    def _serve(self) -> None:
        pipeline = self._wait_for_model()
        if pipeline is None:
            return
        source = self.settings.source
        path = (source.state_dir or Path("state")) / f"amqp-{_file_name(self.settings.name)}.sqlite3"
        store = ProcessedStore(path, source.dedupe_ttl_s)
        try:
            scorer = BatchScorer(
                pipeline,
                store,
                formats_for(self.settings, pipeline),
                delivery_limit=source.delivery_limit if source.declare else None,
                has_fixed_destination=source.reply is not None,
            )
            self.consumer = AmqpConsumer(
                self.settings, scorer, store, self._parameters, self._stop, self._events
            )
            self.consumer.run()
        finally:
            store.close()

    def _wait_for_model(self) -> ScoringPipeline | None:
        """The scoring pipeline, waiting (with back-off) while the model is not ready yet; None if stopped."""
        delay = _MODEL_WAIT_S[0]
        while True:
            try:
                return scoring_pipeline(self._client, self.settings)
            except BridgewayError as exc:
                if not exc.retryable:
                    raise
                log.warning(
                    "amqp %s: model not available yet (%s); retry in %.1f s", self.settings.name, exc, delay
                )
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, _MODEL_WAIT_S[1])


def scoring_pipeline(client: InferenceClient, settings: AmqpPipelineSettings) -> ScoringPipeline:
    """The pipeline's ScoringPipeline: model, carried fields, mapping override, batch rows, deadline."""
    mapping = settings.mapping
    override = None
    if mapping is not None:
        override = MappingOverride(
            inputs=tuple(TensorFields(tensor, fields) for tensor, fields in mapping.inputs.items()),
            outputs=tuple(TensorFields(tensor, fields) for tensor, fields in mapping.outputs.items()),
            allow_nan=mapping.allow_nan,
        )
    return ScoringPipeline(
        client,
        settings.model,
        carry=settings.output.carry,
        mapping=override,
        max_batch_rows=settings.max_batch_rows,
        timeout_s=settings.timeout_s,
    )


def amqp_source(
    pipeline_config: Pipeline,
    client: InferenceClient,
    stop: threading.Event,
    audit: PipelineAudit | None = None,
) -> AmqpPipeline:
    """Factory for ``bridgeway run``: a loaded bridgeway.yaml pipeline with ``source.kind: amqp``. This is a
    composition root, so the process environment is where ``source.password_env`` is read. ``audit``
    receives the adapter's events and records one audit event per settled message."""
    settings = AmqpPipelineSettings.from_config(pipeline_config)
    events = audit.amqp_events if audit is not None and audit.enabled else ignore_events
    return AmqpPipeline(settings, client, stop, environ=os.environ, events=events)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
