"""Test doubles at our own seams (never for what we integrate with).

``FakeInferenceClient`` implements ``adapters.client.base.InferenceClient`` from a handler function, the way
httpx's ``MockTransport`` backs a transport with a function. It records every call, so tests can assert what
was sent (rows per call, bisection, requested outputs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.errors import ModelNotFound
from gateway.types import (
    InferRequest,
    InferResponse,
    ModelConfigInfo,
    ModelMetadata,
    TensorFields,
    TensorSpec,
)

__all__ = ["FakeInferenceClient", "FakeModel", "Handler"]

Handler = Callable[[InferRequest], InferResponse]


@dataclass(frozen=True)
class FakeModel:
    """What the fake reports for one model: its signature, model.yaml fields and batching limit."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    version: str = "1"
    input_fields: tuple[TensorFields, ...] = ()
    output_fields: tuple[TensorFields, ...] = ()
    max_batch_size: int = 0  # 0: unbatched (any row count when the leading axis is -1)
    sha256: str = "0" * 64

    def metadata(self) -> ModelMetadata:
        return ModelMetadata(self.name, (self.version,), "onnxruntime_onnx", self.inputs, self.outputs)

    def config(self) -> ModelConfigInfo:
        from gateway.types import BatchingInfo

        batched = self.max_batch_size > 0
        return ModelConfigInfo(
            name=self.name,
            version=self.version,
            platform="onnxruntime_onnx",
            max_batch_size=self.max_batch_size,
            inputs=tuple(_strip_batch(s) for s in self.inputs) if batched else self.inputs,
            outputs=tuple(_strip_batch(s) for s in self.outputs) if batched else self.outputs,
            batching=BatchingInfo(self.max_batch_size, 0) if batched else None,
            input_fields=self.input_fields,
            output_fields=self.output_fields,
        )


def _strip_batch(spec: TensorSpec) -> TensorSpec:
    return TensorSpec(spec.name, spec.datatype, spec.shape[1:])


@dataclass
class FakeInferenceClient:
    """An InferenceClient whose ``infer`` is ``handler(request)``; the handler may raise gateway errors.

    ``models`` answer metadata/config/ready; an unknown name raises ModelNotFound as a real client does.
    ``calls`` holds every request passed to ``infer`` (thread-safe append), ``closed`` turns True on close.
    """

    handler: Handler
    models: Sequence[FakeModel] = ()
    calls: list[InferRequest] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def infer(self, request: InferRequest, timeout_s: float | None = None) -> InferResponse:
        with self._lock:
            self.calls.append(request)
        return self.handler(request)

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata:
        return self._model(name, version).metadata()

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo:
        return self._model(name, version).config()

    def model_ready(self, name: str, version: str = "") -> bool:
        try:
            self._model(name, version)
        except ModelNotFound:
            return False
        return True

    def close(self) -> None:
        self.closed = True

    def _model(self, name: str, version: str) -> FakeModel:
        for model in self.models:
            if model.name == name and version in ("", model.version):
                return model
        raise ModelNotFound(f"unknown model {name!r}" + (f" version {version}" if version else ""))
