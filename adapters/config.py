"""``bridgeway.yaml``: the schema of the file ``bridgeway run --config`` reads, and its loader.

One pydantic schema, unknown keys forbidden everywhere, so that a typo fails at start-up with the file, the
line and the path of the bad key (``bridgeway.yaml:12: pipelines[0].source.inbox: field required``) instead
of being ignored. Relative paths are resolved against the folder that holds the config file, never against
the working directory, so the same file works wherever ``bridgeway run`` is started from.

The shape (DESIGN.md "Adapters"):

.. code-block:: yaml

    models: models
    gateway: {host: 127.0.0.1, port: 8001, metrics_port: 8002}          # optional
    inference: {mode: local}                                             # or {mode: remote, target: ...}
    pipelines:
      - name: erp-claims
        model: breast-cancer                                             # name or name:version
        source: {kind: files, inbox: in, outbox: out, archive: archive, errors: errors,
                 pattern: "*.csv", ready: done-file}
        input: {format: csv}
        output: {format: csv, carry: [claim_id]}
        on_bad_record: reject

Settings objects are plain data; nothing here opens a folder, a socket or a model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from adapters.config_formats import (
    ConfigPath,
    CsvInput,
    CsvOutput,
    FixedInput,
    FixedOutput,
    InputSpec,
    JsonInput,
    JsonlInput,
    JsonlOutput,
    JsonOutput,
    OutputSpec,
    Strict,
)
from adapters.config_report import ConfigFileError, describe_errors

__all__ = [
    "AmqpBatch",
    "AmqpReply",
    "AmqpSource",
    "AuditSection",
    "BridgewayConfig",
    "ConfigFileError",
    "CsvInput",
    "CsvOutput",
    "FilesSource",
    "FixedInput",
    "FixedOutput",
    "GatewaySection",
    "InputSpec",
    "JsonInput",
    "JsonOutput",
    "JsonlInput",
    "JsonlOutput",
    "LocalInference",
    "LoggingSection",
    "MappingSection",
    "OutputSpec",
    "Pipeline",
    "RemoteInference",
    "RemoteTls",
    "load_config",
    "parse_config",
]

_TARGET = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(:[1-9][0-9]*)?$")


class GatewaySection(Strict):
    """Run the gRPC gateway inside ``bridgeway run``. The TLS, tokens and audit keys are those of
    ``bridgeway serve`` (DESIGN.md "Security and audit"); they are handed to the gateway's own settings,
    which refuse any the gateway does not support."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8001
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 8002
    tls_cert: ConfigPath | None = None
    tls_key: ConfigPath | None = None
    tls_client_ca: ConfigPath | None = None
    tokens: ConfigPath | None = None
    audit_log: ConfigPath | None = None


class LocalInference(Strict):
    """Run the models in this process, with the gateway's own runtime and batcher (and the gateway's very
    core when a ``gateway`` section is present)."""

    mode: Literal["local"]
    timeout_s: Annotated[float, Field(gt=0)] | None = None


class RemoteTls(Strict):
    """TLS towards remote gateways; every file is PEM. Leave ``root_ca`` out to trust the system roots."""

    root_ca: ConfigPath | None = None
    client_cert: ConfigPath | None = None
    client_key: ConfigPath | None = None
    server_name: str | None = None

    @model_validator(mode="after")
    def _pair(self) -> RemoteTls:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together (mutual TLS): give both or neither")
        return self


class RemoteInference(Strict):
    """Call one gateway (``target``) or a fleet (``targets``, round-robin with failover) over gRPC."""

    mode: Literal["remote"]
    target: str | None = None
    targets: tuple[str, ...] | None = None
    tls: RemoteTls | None = None
    token_file: ConfigPath | None = None
    timeout_s: Annotated[float, Field(gt=0)] = 30.0

    @field_validator("target")
    @classmethod
    def _one_target(cls, value: str | None) -> str | None:
        if value is not None:
            _check_target(value)
        return value

    @field_validator("targets")
    @classmethod
    def _many_targets(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            if not value:
                raise ValueError("list at least one 'host:port'")
            for item in value:
                _check_target(item)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> RemoteInference:
        if (self.target is None) == (self.targets is None):
            raise ValueError("give exactly one of 'target' (host:port) or 'targets' (a list of them)")
        return self

    @property
    def all_targets(self) -> tuple[str, ...]:
        return self.targets if self.targets is not None else (self.target or "",)


def _check_target(value: str) -> None:
    if not _TARGET.match(value) or not 0 < int(value.rsplit(":", 1)[1]) <= 65535:
        raise ValueError(f"{value!r} is not 'host:port' (a port from 1 to 65535)")


Inference = Annotated[LocalInference | RemoteInference, Field(discriminator="mode")]


class FilesSource(Strict):
    """A folder pair (RELIABILITY.md "Folder state machine").

    ``work`` holds claimed files and the ledger; it defaults to ``<inbox's parent>/work/<pipeline name>``
    and must be on the same file system as the inbox, archive and errors folders (claims and archiving are
    renames). ``ready`` says when a file in the inbox is complete: ``done-file`` waits for
    ``<name><done_suffix>``, ``rename`` takes any file matching ``pattern`` (the sender writes under another
    name and renames), ``stable`` waits until size and modification time have not changed for
    ``stable_seconds``. ``done_marker`` writes ``<result>.done`` after each result is published.
    """

    kind: Literal["files"]
    inbox: ConfigPath
    outbox: ConfigPath
    archive: ConfigPath
    errors: ConfigPath
    work: ConfigPath | None = None
    pattern: Annotated[str, Field(min_length=1)] = "*"
    ready: Literal["done-file", "rename", "stable"] = "done-file"
    done_suffix: Annotated[str, Field(pattern=r"^\.[A-Za-z0-9_-]+$")] = ".done"
    stable_seconds: Annotated[float, Field(gt=0)] = 5.0
    poll_interval: Annotated[float, Field(gt=0, le=3600)] = 1.0
    done_marker: bool = False
    max_attempts: Annotated[int, Field(ge=1)] = 5

    @field_validator("pattern")
    @classmethod
    def _plain_pattern(cls, value: str) -> str:
        if "/" in value or "\x00" in value:
            raise ValueError("a file name pattern such as '*.csv', without '/'")
        return value


class AmqpBatch(Strict):
    """Micro-batching: up to ``max_messages`` requests, waiting at most ``max_wait_ms`` for them."""

    max_messages: Annotated[int, Field(ge=1, le=65535)] = 256
    max_wait_ms: Annotated[float, Field(ge=0)] = 5.0


class AmqpReply(Strict):
    """Publish results to this exchange and routing key instead of each request's ``reply_to``."""

    exchange: str = ""
    routing_key: Annotated[str, Field(min_length=1)]


class AmqpSource(Strict):
    """A RabbitMQ queue of requests. ``url`` carries credentials and is never logged or printed."""

    kind: Literal["amqp"]
    url: SecretStr
    queue: Annotated[str, Field(min_length=1)]
    prefetch: Annotated[int, Field(ge=1, le=65535)] = 256
    batch: AmqpBatch = Field(default_factory=AmqpBatch)
    reply: AmqpReply | None = None
    declare: bool = True
    delivery_limit: Annotated[int, Field(ge=1)] = 3
    dead_letter_exchange: str | None = None
    # Adapter tuning, as adapters.amqp.settings documents it: dead-letter queue (default <queue>.dead),
    # password from an environment variable, heartbeat, TLS for amqps://, processed-id store folder,
    # delay before a transient failure is requeued, publisher-confirm window, graceful-drain limit.
    dead_letter_queue: str | None = None
    password_env: str | None = None
    heartbeat_s: Annotated[int, Field(ge=1, le=600)] = 30
    tls: RemoteTls | None = None
    state_dir: ConfigPath | None = None
    retry_delay_ms: Annotated[float, Field(ge=0, le=600_000)] = 1000.0
    confirm_window: Annotated[int, Field(ge=1)] = 1000
    drain_timeout_s: Annotated[float, Field(ge=0)] = 30.0

    @field_validator("url")
    @classmethod
    def _amqp_scheme(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("amqp://", "amqps://")):
            raise ValueError("an amqp:// or amqps:// URL")
        return value


Source = Annotated[FilesSource | AmqpSource, Field(discriminator="kind")]


class MappingSection(Strict):
    """Per-pipeline replacements for model.yaml's field lists: ``{tensor: [field, ...]}``."""

    inputs: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    outputs: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    allow_nan: bool = False


class Pipeline(Strict):
    """One source of records scored by one model.

    ``chunk_rows`` records are decoded, scored and written at a time (memory is bounded by it, and a files
    pipeline checkpoints after each chunk). ``on_bad_record``: ``reject`` writes each bad record to the
    rejects file (or dead-letters it) and goes on; ``fail`` sends the whole file to ``errors/``.
    ``reject_limit`` (files): a file with more rejected records than this goes to ``errors/`` whole, as
    Spring Batch's skip limit does (a wrong code page rejects every record; that is not a partial result).
    """

    name: str
    model: str
    source: Source
    input: InputSpec
    output: OutputSpec | None = None
    on_bad_record: Literal["reject", "fail"] = "reject"
    reject_limit: Annotated[int, Field(ge=0)] | None = None
    chunk_rows: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    max_batch_rows: Annotated[int, Field(ge=1)] | None = None
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    mapping: MappingSection | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("model")
    @classmethod
    def _model_ref(cls, value: str) -> str:
        if not _MODEL.match(value):
            raise ValueError("NAME or NAME:VERSION, VERSION a positive integer (e.g. breast-cancer:2)")
        return value

    @model_validator(mode="after")
    def _formats_fit(self) -> Pipeline:
        is_files = isinstance(self.source, FilesSource)
        allowed = ("csv", "jsonl", "fixed") if is_files else ("json", "fixed")
        where = "a files source reads files" if is_files else "an amqp source reads messages"
        if self.input.format not in allowed:
            raise ValueError(f"input.format {self.input.format!r}: {where}: use {' or '.join(allowed)}")
        if self.output is not None and self.output.format not in allowed:
            raise ValueError(f"output.format {self.output.format!r}: {where}: use {' or '.join(allowed)}")
        if self.output is None and self.input.format == "fixed":
            raise ValueError(
                "output: fixed-width input needs an output section, e.g. "
                "{format: fixed, result_copybook: RESULT.cpy} (or format csv/jsonl)"
            )
        return self

    @property
    def result(self) -> OutputSpec:
        """The output spec; when none was given, the input's format with default options."""
        if self.output is not None:
            return self.output
        defaults: dict[str, type[OutputSpec]] = {"csv": CsvOutput, "jsonl": JsonlOutput, "json": JsonOutput}
        return defaults[self.input.format].model_validate({"format": self.input.format})

    @property
    def work_folder(self) -> Path:
        """The files source's work folder (its default when not configured)."""
        if not isinstance(self.source, FilesSource):
            raise TypeError(f"pipeline {self.name!r} has no folders: its source is {self.source.kind}")
        return self.source.work or self.source.inbox.parent / "work" / self.name


class AuditSection(Strict):
    """The pipelines' audit log: one hash-chained event per file and per message (``gateway.audit``).
    The gateway's own requests go to ``gateway.audit_log``."""

    log: ConfigPath
    max_bytes: Annotated[int, Field(ge=0)] = 64 * 1024 * 1024
    fsync: Literal["always", "batch", "never"] = "batch"


class LoggingSection(Strict):
    """Log level and field names masked wherever they appear in logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    mask: tuple[str, ...] = ()


class BridgewayConfig(Strict):
    """The whole file. ``models`` is the model repository for local inference and the gateway."""

    models: ConfigPath = Path("models")
    gateway: GatewaySection | None = None
    inference: Inference = Field(default_factory=lambda: LocalInference(mode="local"))
    pipelines: tuple[Pipeline, ...] = ()
    logging: LoggingSection = Field(default_factory=LoggingSection)
    audit: AuditSection | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> BridgewayConfig:
        seen: set[str] = set()
        for pipeline in self.pipelines:
            if pipeline.name in seen:
                raise ValueError(f"pipeline name {pipeline.name!r} is used twice; names must be unique")
            seen.add(pipeline.name)
        return self


def parse_config(raw: Any, base_dir: Path, source: str = "bridgeway.yaml", text: str = "") -> BridgewayConfig:
    """Validate an already-parsed document. Raises ConfigFileError listing every problem with its key path
    (and line, when ``text`` holds the YAML it came from)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError(source, [f"expected a mapping at the top level, got {type(raw).__name__}"])
    try:
        config = BridgewayConfig.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigFileError(source, describe_errors(exc, raw, text)) from exc
    problems = _folder_problems(config)
    if problems:
        raise ConfigFileError(source, problems)
    return config


def load_config(path: Path) -> BridgewayConfig:
    """Read and validate ``bridgeway.yaml``. Raises ConfigFileError naming the file, line and key path."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(name, [f"cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigFileError(name, [f"not UTF-8 text (byte {exc.start})"]) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigFileError(name, ["not valid YAML: " + " ".join(str(exc).split())]) from exc
    return parse_config(raw, path.resolve().parent, name, text)


def _folder_problems(config: BridgewayConfig) -> list[str]:
    """Folders that would make the protocol unsafe: one folder in two roles, or one work folder (and so one
    ledger) shared by two pipelines."""
    problems: list[str] = []
    works: dict[Path, str] = {}
    for index, pipeline in enumerate(config.pipelines):
        source = pipeline.source
        if not isinstance(source, FilesSource):
            continue
        where = f"pipelines[{index}] ({pipeline.name}).source"
        roles = {
            "inbox": source.inbox,
            "outbox": source.outbox,
            "archive": source.archive,
            "errors": source.errors,
            "work": pipeline.work_folder,
        }
        problems += _role_clashes(where, roles)
        work = roles["work"]
        if work in works:
            problems.append(f"{where}.work: {work} is also the work folder of pipeline {works[work]!r}")
        works[work] = pipeline.name
    return problems


def _role_clashes(where: str, roles: dict[str, Path]) -> list[str]:
    problems = []
    items = list(roles.items())
    for i, (role, folder) in enumerate(items):
        for other, other_folder in items[i + 1 :]:
            if folder == other_folder:
                problems.append(f"{where}: {role} and {other} are the same folder ({folder})")
    inbox = roles["inbox"]
    for role, folder in items[1:]:
        if inbox in folder.parents:
            problems.append(f"{where}.{role}: {folder} is inside the inbox; give it a folder of its own")
    return problems
