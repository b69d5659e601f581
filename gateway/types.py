"""Plain typed objects for tensors, requests, responses and model metadata.

These are what ``gateway.core`` speaks. The gRPC servicer converts protobuf to and from them
(``gateway.convert``); the in-process inference client of the adapters uses them directly, so both paths get
the same validation, batching and errors without protobuf in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BatchingInfo",
    "DurationStat",
    "InferRequest",
    "InferResponse",
    "ModelConfigInfo",
    "ModelIndexEntry",
    "ModelMetadata",
    "ModelStats",
    "Tensor",
    "TensorFields",
    "TensorSpec",
]


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """An input or output as the model declares it. ``-1`` marks a dynamic dimension."""

    name: str
    datatype: str  # protocol datatype name, see gateway.datatypes
    shape: tuple[int, ...]


@dataclass(slots=True)
class Tensor:
    """A named tensor. ``data`` is a numpy array; BYTES tensors hold ``bytes`` objects in an object array."""

    name: str
    datatype: str
    data: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)


@dataclass(slots=True)
class InferRequest:
    """One inference call.

    ``model_version`` is ``""`` for "the version the policy serves by default". ``outputs`` lists the
    requested outputs, or is ``None`` for all of them. ``deadline`` is a ``time.monotonic()`` instant after
    which the request must not be run (``None``: no deadline).
    """

    model_name: str
    inputs: list[Tensor]
    model_version: str = ""
    id: str = ""
    outputs: list[str] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    caller: str = ""  # authenticated identity, for audit; "" when anonymous


@dataclass(slots=True)
class InferResponse:
    """The result of one call: always names the exact model version that produced it."""

    model_name: str
    model_version: str
    outputs: list[Tensor]
    id: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    model_sha256: str = ""


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True, slots=True)
class BatchingInfo:
    """Dynamic batching as configured for one model (``None`` on ModelConfigInfo when served unbatched)."""

    max_batch_size: int
    max_queue_delay_us: int
    preferred_batch_sizes: tuple[int, ...] = ()
    max_queue_size: int = 0  # 0: unbounded


@dataclass(frozen=True, slots=True)
class TensorFields:
    """model.yaml's mapping of one tensor to business record fields.

    ``columns=True``: the tensor is [N, len(fields)] and field i is column i (model.yaml ``fields: [...]``).
    ``columns=False``: the tensor is [N] (or [N, 1]) and holds the one field ``fields[0]`` (``field: x``).
    """

    tensor: str
    fields: tuple[str, ...]
    columns: bool = True


@dataclass(frozen=True, slots=True)
class ModelConfigInfo:
    """The Triton-compatible subset of a model's configuration (ModelConfig RPC).

    ``inputs``/``outputs`` shapes exclude the batch axis when ``batching`` is set, as Triton's ``dims`` do.
    """

    name: str
    version: str
    platform: str  # always "onnxruntime_onnx"
    max_batch_size: int  # 0 when served unbatched
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    batching: BatchingInfo | None
    description: str = ""
    # From model.yaml; empty when the model has none. The servicer also publishes them in ModelConfig
    # parameters so remote adapters can map records without a copy of the repository.
    input_fields: tuple[TensorFields, ...] = ()
    output_fields: tuple[TensorFields, ...] = ()


@dataclass(frozen=True, slots=True)
class DurationStat:
    count: int = 0
    ns: int = 0


@dataclass(frozen=True, slots=True)
class ModelStats:
    """Cumulative statistics of one model version since it was loaded (ModelStatistics RPC)."""

    name: str
    version: str
    last_inference_ms: int  # unix epoch milliseconds, 0 if never
    inference_count: int  # rows inferred (batch elements)
    execution_count: int  # onnxruntime runs
    success: DurationStat
    fail: DurationStat
    queue: DurationStat
    compute_input: DurationStat
    compute_infer: DurationStat
    compute_output: DurationStat
    batch_stats: tuple[tuple[int, DurationStat], ...] = ()  # (batch size, compute_infer at that size)


@dataclass(frozen=True, slots=True)
class ModelIndexEntry:
    """One row of RepositoryIndex: state is "READY", "LOADING", "UNAVAILABLE" or "UNLOADING"."""

    name: str
    version: str
    state: str
    reason: str = ""
