"""Typed configuration: the per-model ``model.yaml`` and the gateway server's settings.

Both schemas forbid unknown keys, so a typo fails at load time with the file and the key path instead of being
silently ignored. Settings objects are passed into constructors; nothing here reads the environment.

>>> ModelYaml.model_validate({"batching": {"max_batch_size": 8}}).batching.max_queue_delay_us
0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "MIB",
    "BatchingConfig",
    "ConfigError",
    "FieldMapping",
    "LogSettings",
    "ModelYaml",
    "ServerSettings",
    "VersionPolicy",
    "WarmupConfig",
    "load_model_yaml",
    "load_yaml_document",
]

MIB = 1024 * 1024

_Doc = TypeVar("_Doc", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration document is unreadable or invalid; the message names the file and the key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchingConfig(_Strict):
    """Dynamic batching of one model version.

    ``max_queue_delay_us`` is how long the oldest queued request may wait for others to join its batch; 0
    still merges whatever queued up while the previous batch ran. A batch is dispatched early once its row
    count reaches one of ``preferred_batch_sizes``. ``max_queue_size`` bounds the queued requests (0: no
    bound); beyond it callers get QueueFull.
    """

    max_batch_size: Annotated[int, Field(ge=1)]
    max_queue_delay_us: Annotated[int, Field(ge=0)] = 0
    preferred_batch_sizes: tuple[Annotated[int, Field(ge=1)], ...] = ()
    max_queue_size: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _preferred_within_max(self) -> BatchingConfig:
        too_big = [n for n in self.preferred_batch_sizes if n > self.max_batch_size]
        if too_big:
            raise ValueError(f"preferred_batch_sizes {too_big} exceed max_batch_size {self.max_batch_size}")
        return self


class FieldMapping(_Strict):
    """Business record fields feeding (or read from) one tensor: ``{fields: [...]}`` or ``{field: x}``."""

    fields: tuple[str, ...] | None = None
    field: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FieldMapping:
        if (self.fields is None) == (self.field is None):
            raise ValueError("give exactly one of 'fields' (a list) or 'field' (one name)")
        if self.fields is not None and not self.fields:
            raise ValueError("'fields' must name at least one field")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The field names in tensor column order (one name for ``field``)."""
        return self.fields if self.fields is not None else (self.field or "",)


class VersionPolicy(_Strict):
    """Which on-disk versions are served: ``{latest: N}``, ``{specific: [1, 3]}`` or the string ``all``."""

    latest: Annotated[int, Field(ge=1)] | None = None
    specific: tuple[Annotated[int, Field(ge=1)], ...] | None = None
    all: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        if value == "all":
            return {"all": True}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> VersionPolicy:
        chosen = sum([self.latest is not None, self.specific is not None, self.all])
        if chosen > 1:
            raise ValueError("give one of 'latest', 'specific' or 'all'")
        if self.specific is not None and not self.specific:
            raise ValueError("'specific' must list at least one version")
        return self

    def select(self, available: list[int]) -> list[int]:
        """The versions to serve out of ``available``, ascending. Default: the highest one."""
        ordered = sorted(set(available))
        if self.all:
            return ordered
        if self.specific is not None:
            return [v for v in ordered if v in self.specific]
        return ordered[-(self.latest or 1) :]

    def describe(self) -> str:
        if self.all:
            return "all"
        if self.specific is not None:
            return f"specific: {list(self.specific)}"
        return f"latest: {self.latest or 1}"


class WarmupConfig(_Strict):
    """Warm-up before a version reports ready: ``runs`` runs on zeros (empty strings for BYTES).

    ``batch_size`` fills dynamic leading axes; other dynamic axes get 1. Disable it for models that reject
    such dummy input.
    """

    enabled: bool = True
    runs: Annotated[int, Field(ge=1)] = 1
    batch_size: Annotated[int, Field(ge=1)] = 1


class ModelYaml(_Strict):
    """``models/<name>/model.yaml``: every key is optional; a model without the file serves from its graph.

    ``batching: false`` serves unbatched; leaving ``batching`` out takes the server's default.
    ``max_queue_size`` bounds the waiting requests when served unbatched (0: no bound; batched models use
    ``batching.max_queue_size``). ``threads``
    overrides the intra-op threads this model's sessions get from the server's budget. ``concurrency``
    overrides how many runs of one version may execute at once.
    """

    description: str = ""
    inputs: dict[str, FieldMapping] = Field(default_factory=dict)
    outputs: dict[str, FieldMapping] = Field(default_factory=dict)
    batching: BatchingConfig | Literal[False] | None = None
    max_queue_size: Annotated[int, Field(ge=0)] = 0
    threads: Annotated[int, Field(ge=1)] | None = None
    concurrency: Annotated[int, Field(ge=1)] | None = None
    version_policy: VersionPolicy = Field(default_factory=VersionPolicy)
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)

    @field_validator("batching", mode="before")
    @classmethod
    def _no_true(cls, value: Any) -> Any:
        if value is True:
            raise ValueError("use a mapping such as {max_batch_size: 64} to enable batching, or false")
        return value


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


GraphOptimizationLevel = Literal["disable", "basic", "extended", "all"]


class LogSettings(_Strict):
    """``logging: {mask: [...]}``: field names whose values are hidden wherever they appear in log lines."""

    mask: tuple[Annotated[str, Field(min_length=1)], ...] = ()


class ServerSettings(_Strict):
    """Settings of one gateway process.

    ``threads`` is the whole server's intra-op thread budget, split across loaded model sessions (a model's
    ``threads`` overrides its share). ``default_batching`` applies to models whose model.yaml does not say;
    ``None`` serves them unbatched. ``unbatched_concurrency`` is how many runs of an unbatched version may
    execute at once (default: 4 per intra-op thread, 4 to 16). Message sizes are bytes. ``drain_grace_s`` is
    how long a stop waits for queued and running requests.

    Security and audit (DESIGN.md "Security and audit", read by ``gateway.trust``): ``tls_cert`` and
    ``tls_key`` turn TLS on, ``tls_client_ca`` mutual TLS; ``tokens`` is the tokens file, checked for changes
    every ``tokens_check_interval_s``; ``audit_log`` the audit trail, rotated at ``audit_max_bytes`` (0:
    never), fsynced per ``audit_fsync``; ``health_port`` a plaintext port answering only health and liveness
    (for probes that cannot speak TLS).
    """

    models_dir: Path = Path("models")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8001
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 8002
    threads: Annotated[int, Field(ge=1)] = Field(default_factory=lambda: _usable_cpus())
    inter_op_threads: Annotated[int, Field(ge=1)] = 1
    graph_optimization_level: GraphOptimizationLevel = "all"
    execution_providers: tuple[str, ...] = ("CPUExecutionProvider",)
    allow_spinning: bool = False
    max_send_message_bytes: Annotated[int, Field(ge=4 * MIB)] = 256 * MIB
    max_receive_message_bytes: Annotated[int, Field(ge=4 * MIB)] = 256 * MIB
    drain_grace_s: Annotated[float, Field(ge=0)] = 10.0
    default_batching: BatchingConfig | None = BatchingConfig(max_batch_size=256, max_queue_delay_us=0)
    unbatched_concurrency: Annotated[int, Field(ge=1)] | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    tokens: Path | None = None
    tokens_check_interval_s: Annotated[float, Field(ge=0)] = 1.0
    audit_log: Path | None = None
    audit_max_bytes: Annotated[int, Field(ge=0)] = 64 * MIB
    audit_fsync: Literal["always", "batch", "never"] = "batch"
    health_port: Annotated[int, Field(ge=0, le=65535)] | None = None
    logging: LogSettings = Field(default_factory=LogSettings)

    @field_validator("default_batching", mode="before")
    @classmethod
    def _false_is_none(cls, value: Any) -> Any:
        return None if value is False else value


def _format_problems(exc: ValidationError) -> list[str]:
    """One "key.path: message" per error, without pydantic's union-member tags in the path.

    A key that may be a mapping or ``false`` fails both ways; the "should be False" half is noise when the
    mapping half says what is wrong, so it is dropped.
    """
    problems: dict[str, list[str]] = {}
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        path = ".".join(parts) or "(top level)"
        tagged = any(isinstance(p, str) and "[" in p for p in err["loc"])
        if tagged and err["type"] in ("literal_error", "none_required", "bool_type"):
            problems.setdefault(path, [])
            continue
        problems.setdefault(path, []).append(f"{path}: {err['msg']}")
    result = [m for msgs in problems.values() for m in msgs]
    return result or [f"{path}: invalid value" for path in problems]


def load_yaml_document(path: Path, schema: type[_Doc], source: str | None = None) -> _Doc:
    """Read a YAML file into ``schema``. Raises ConfigError naming the file and each bad key path.

    ``source`` is how the file is named in messages (default: ``path``), e.g. a path relative to the models
    directory so that callers never see this machine's layout.
    """
    name = source or str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(name, [f"cannot read: {exc.strerror or exc}"]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(name, ["not valid YAML: " + " ".join(str(exc).split())]) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(name, [f"expected a mapping at the top level, got {type(raw).__name__}"])
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(name, _format_problems(exc)) from exc


def load_model_yaml(path: Path, source: str | None = None) -> ModelYaml:
    """Parse ``models/<name>/model.yaml``; an absent file means all defaults. Raises ConfigError."""
    if not path.exists():
        return ModelYaml()
    return load_yaml_document(path, ModelYaml, source)
