"""Typed settings of one AMQP pipeline: where requests come from, how they are batched, where results go.

The keys under ``source`` are those of ``bridgeway.yaml``'s ``source: {kind: amqp, ...}`` (DESIGN "Adapters");
everything beyond ``url``, ``queue``, ``prefetch`` and ``batch`` has a default, so the design's example works
as written. Every queue argument the adapter declares is spelled out here, so behaviour never depends on a
broker version's defaults (RabbitMQ 3.x has no default delivery limit, 4.x defaults to 20).

Credentials: ``url`` may carry them (it is a ``SecretStr`` and is never logged), or ``url_env`` names an
environment variable holding the whole URL, read once by :meth:`AmqpSourceSettings.resolved_url`. Neither is
ever taken from the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = [
    "DEFAULT_CONTENT_TYPES",
    "AmqpOutputSettings",
    "AmqpPipelineSettings",
    "AmqpSourceSettings",
    "BatchSettings",
    "ReconnectSettings",
    "TlsSettings",
    "TopologySettings",
]

#: Content types accepted by default: JSON records, and fixed-width records when a copybook is configured.
DEFAULT_CONTENT_TYPES: tuple[str, ...] = ("application/json", "application/octet-stream")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchSettings(_Strict):
    """Micro-batching across messages: one inference call for up to ``max_messages`` messages, waiting at
    most ``max_wait_ms`` after the first one arrives. ``max_messages: 1`` turns micro-batching off."""

    max_messages: int = Field(256, ge=1, le=65535)
    max_wait_ms: float = Field(5.0, ge=0, le=60_000)


class ReconnectSettings(_Strict):
    """Capped exponential back-off between connection attempts (with jitter), reset once consuming."""

    initial_ms: float = Field(250.0, gt=0)
    max_ms: float = Field(5_000.0, gt=0)


class TopologySettings(_Strict):
    """What the adapter declares on every (re)connect when ``declare`` is true.

    The request queue is a durable quorum queue with these arguments, all explicit: ``x-queue-type=quorum``,
    ``x-delivery-limit``, ``x-dead-letter-exchange``, ``x-dead-letter-routing-key``,
    ``x-dead-letter-strategy=at-least-once`` and ``x-overflow=reject-publish`` (at-least-once dead-lettering
    requires reject-publish). The dead-letter exchange (direct, durable) and its quorum queue are declared
    too. With ``declare`` false the broker's existing topology is used as it is, and must match.
    """

    declare: bool = True
    delivery_limit: int = Field(5, ge=0, le=1_000_000)
    dead_letter_exchange: str = "bridgeway.dlx"
    dead_letter_queue: str | None = None  # default: "<queue>.dead"
    dead_letter_routing_key: str | None = None  # default: the dead-letter queue's name


class TlsSettings(_Strict):
    """TLS for ``amqps://`` URLs: a CA bundle to verify the broker, optionally a client certificate."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_hostname: str | None = None  # name to verify when it differs from the URL's host

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls: cert_file and key_file go together")
        return self


class AmqpSourceSettings(_Strict):
    """``source: {kind: amqp, ...}`` of one pipeline."""

    kind: Literal["amqp"] = "amqp"
    url: SecretStr | None = None
    url_env: str | None = None
    queue: str = Field(min_length=1, max_length=255)
    prefetch: int = Field(256, ge=1, le=65535)
    batch: BatchSettings = BatchSettings()
    heartbeat_s: int = Field(30, ge=1, le=600)
    connection_name: str | None = None
    topology: TopologySettings = TopologySettings()
    tls: TlsSettings | None = None
    reconnect: ReconnectSettings = ReconnectSettings()
    retry_delay_ms: float = Field(1_000.0, ge=0, le=600_000)  # wait before requeueing a transient failure
    confirm_window: int = Field(1_000, ge=1, le=1_000_000)  # most results awaiting a publisher confirm
    park_retry_s: float = Field(5.0, gt=0, le=3_600)  # how often parked (unroutable) results are retried
    drain_timeout_s: float = Field(30.0, ge=0)  # graceful shutdown: longest wait to settle in-flight work
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    max_records_per_message: int = Field(10_000, ge=1)
    state_dir: Path = Path(".bridgeway-state")  # processed-id store: <state_dir>/amqp-<queue>.sqlite3
    dedupe_ttl_s: float = Field(7 * 86_400.0, gt=0)  # how long a processed id is remembered

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("source: give exactly one of url or url_env")
        return self

    def resolved_url(self, environ: Mapping[str, str]) -> str:
        """The broker URL, from ``url`` or the environment variable ``url_env`` names.

        Raises ValueError naming the variable when it is unset or empty (never its value).
        """
        if self.url is not None:
            return self.url.get_secret_value()
        assert self.url_env is not None  # guaranteed by _one_url
        value = environ.get(self.url_env, "")
        if not value:
            raise ValueError(f"source.url_env: environment variable {self.url_env} is not set")
        return value

    @property
    def dead_letter_queue(self) -> str:
        return self.topology.dead_letter_queue or f"{self.queue}.dead"

    @property
    def dead_letter_routing_key(self) -> str:
        return self.topology.dead_letter_routing_key or self.dead_letter_queue


class AmqpOutputSettings(_Strict):
    """Where and how results go: ``reply_to`` of each request (default exchange), unless ``exchange`` /
    ``routing_key`` are configured, in which case every result goes there."""

    format: Literal["json", "fixed"] = "json"
    exchange: str | None = None
    routing_key: str | None = None
    declare_exchange: bool = False  # declare ``exchange`` (direct, durable) on connect
    copybook: Path | None = None  # result layout for ``format: fixed``
    encoding: str = "cp037"

    @model_validator(mode="after")
    def _fixed_needs_layout(self) -> Self:
        if self.format == "fixed" and self.copybook is None:
            raise ValueError("output: format fixed needs a result copybook")
        if self.exchange is not None and self.routing_key is None:
            raise ValueError("output: exchange needs a routing_key")
        return self


class AmqpInputSettings(_Strict):
    """How request bodies are read when the content type does not decide it."""

    format: Literal["json", "fixed"] = "json"
    copybook: Path | None = None
    encoding: str = "cp037"

    @model_validator(mode="after")
    def _fixed_needs_layout(self) -> Self:
        if self.format == "fixed" and self.copybook is None:
            raise ValueError("input: format fixed needs a copybook")
        return self


class AmqpPipelineSettings(_Strict):
    """Everything one AMQP pipeline needs: its name, model, source, input and output."""

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    source: AmqpSourceSettings
    input: AmqpInputSettings = AmqpInputSettings()
    output: AmqpOutputSettings = AmqpOutputSettings()
    carry: tuple[str, ...] = ()
