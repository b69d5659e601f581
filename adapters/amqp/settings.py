"""Typed settings of one AMQP pipeline: where requests come from, how they are batched, where results go.

The source keys are those of ``bridgeway.yaml``'s ``source: {kind: amqp, ...}`` (``adapters.config``
``AmqpSource``, DESIGN "Adapters"); :meth:`AmqpPipelineSettings.from_config` takes a loaded pipeline.
Everything beyond ``url`` and ``queue`` has a default, so the design's example works as written. Every queue
argument the adapter declares is spelled out here, so behaviour never depends on a broker version's
defaults (RabbitMQ 3.x has no default delivery limit, 4.x defaults to 20).

Credentials: in ``url`` (a ``SecretStr``, never logged), or the password in the environment variable that
``password_env`` names, read once by :meth:`AmqpSourceSettings.resolved_url`. Never the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Self
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from adapters.config import MappingSection
from adapters.config_formats import FixedInput, FixedOutput, JsonInput, JsonOutput

if TYPE_CHECKING:
    from adapters.config import Pipeline

__all__ = [
    "DEFAULT_CONTENT_TYPES",
    "AmqpPipelineSettings",
    "AmqpSourceSettings",
    "BatchSettings",
    "ReconnectSettings",
    "ReplySettings",
    "TlsSettings",
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


class ReplySettings(_Strict):
    """Publish every result to ``exchange`` with ``routing_key`` instead of each request's ``reply_to``."""

    exchange: str = ""
    routing_key: str = Field(min_length=1)


class ReconnectSettings(_Strict):
    """Capped exponential back-off between connection attempts (with jitter), reset once consuming."""

    initial_ms: float = Field(250.0, gt=0)
    max_ms: float = Field(5_000.0, gt=0)


class TlsSettings(_Strict):
    """TLS for ``amqps://`` URLs (PEM files): a CA to verify the broker, optionally a client certificate."""

    root_ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None  # name to verify when it differs from the URL's host

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("tls: client_cert and client_key go together")
        return self


class AmqpSourceSettings(_Strict):
    """``source: {kind: amqp, ...}`` of one pipeline.

    Topology (declared on every (re)connect when ``declare`` is true): the request queue is a durable
    quorum queue with every argument explicit (``x-queue-type=quorum``, ``x-delivery-limit``,
    ``x-dead-letter-exchange``, ``x-dead-letter-routing-key``, ``x-dead-letter-strategy=at-least-once``,
    ``x-overflow=reject-publish``, which at-least-once dead-lettering requires); the dead-letter exchange
    (direct, durable) and its quorum queue are declared too, and the reply exchange when one is configured.
    With ``declare`` false the broker's topology is used as it is.
    """

    kind: Literal["amqp"] = "amqp"
    url: SecretStr
    password_env: str | None = None
    queue: str = Field(min_length=1, max_length=255)
    prefetch: int = Field(256, ge=1, le=65535)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    reply: ReplySettings | None = None
    declare: bool = True
    delivery_limit: int = Field(3, ge=1, le=1_000_000)
    dead_letter_exchange: str | None = None  # default: "<queue>.dlx"
    dead_letter_queue: str | None = None  # default: "<queue>.dead" (also its routing key)
    heartbeat_s: int = Field(30, ge=1, le=600)
    connect_timeout_s: float = Field(10.0, gt=0, le=600)  # TCP connect + AMQP handshake, per attempt
    connection_name: str | None = None
    tls: TlsSettings | None = None
    reconnect: ReconnectSettings = Field(default_factory=ReconnectSettings)
    retry_delay_ms: float = Field(1_000.0, ge=0, le=600_000)  # wait before requeueing a transient failure
    confirm_window: int = Field(1_000, ge=1, le=1_000_000)  # most results awaiting a publisher confirm
    park_retry_s: float = Field(5.0, gt=0, le=3_600)  # how often parked (unroutable) results are retried
    drain_timeout_s: float = Field(30.0, ge=0)  # graceful shutdown: longest wait to settle in-flight work
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    max_records_per_message: int = Field(10_000, ge=1)
    state_dir: Path | None = None  # processed-id store: <state_dir>/amqp-<pipeline>.sqlite3 (default ./state)
    dedupe_ttl_s: float = Field(7 * 86_400.0, gt=0)  # how long a processed request id is remembered

    def resolved_url(self, environ: Mapping[str, str]) -> str:
        """The broker URL, with the password from ``password_env`` when that is set.

        Raises ValueError naming the variable (never a value) when it is unset or empty.
        """
        url = self.url.get_secret_value()
        if self.password_env is None:
            return url
        password = environ.get(self.password_env, "")
        if not password:
            raise ValueError(f"source.password_env: environment variable {self.password_env} is not set")
        parts = urlsplit(url)
        user = parts.username or ""
        host = parts.hostname or ""
        netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def dead_letters(self) -> tuple[str, str]:
        """(dead-letter exchange, dead-letter queue = its routing key)."""
        return (
            self.dead_letter_exchange or f"{self.queue}.dlx",
            self.dead_letter_queue or f"{self.queue}.dead",
        )


InputFormat = Annotated[JsonInput | FixedInput, Field(discriminator="format")]
OutputFormat = Annotated[JsonOutput | FixedOutput, Field(discriminator="format")]


class AmqpPipelineSettings(_Strict):
    """Everything one AMQP pipeline needs: name, model, source, formats and the scoring options."""

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    source: AmqpSourceSettings
    input: InputFormat = JsonInput(format="json")
    output: OutputFormat = JsonOutput(format="json")
    mapping: MappingSection | None = None
    max_batch_rows: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0)

    @classmethod
    def from_config(cls, pipeline: Pipeline) -> AmqpPipelineSettings:
        """The settings of a loaded ``bridgeway.yaml`` pipeline whose source is ``kind: amqp``."""
        return cls(
            name=pipeline.name,
            model=pipeline.model,
            source=AmqpSourceSettings.model_validate(pipeline.source.model_dump()),
            input=pipeline.input,  # type: ignore[arg-type]  # the config allows json/fixed for amqp only
            output=pipeline.result,  # type: ignore[arg-type]
            mapping=pipeline.mapping,
            max_batch_rows=pipeline.max_batch_rows,
            timeout_s=pipeline.timeout_s,
        )
