"""The one seam between adapters and models: ``InferenceClient``.

Adapters (files, AMQP, ``bridgeway score``) depend only on this protocol. Two real implementations exist —
``LocalInferenceClient`` (in-process: the gateway's own repository, runtime and batcher) and
``RemoteInferenceClient`` (Open Inference Protocol over gRPC) — and tests use a function-backed fake. All
of them raise the classes of ``gateway.errors`` so that dispositions (reject, retry, dead-letter) are decided
once.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gateway.types import InferRequest, InferResponse, ModelConfigInfo, ModelMetadata

__all__ = ["InferenceClient"]


@runtime_checkable
class InferenceClient(Protocol):
    """Synchronous, thread-safe inference. Callers may call ``infer`` from several threads at once."""

    def infer(self, request: InferRequest, timeout_s: float | None = None) -> InferResponse:
        """Run one request. The response names the exact model version (and its SHA-256) that ran.

        Raises gateway.errors classes: ModelNotFound, InvalidInput, ModelNotReady, QueueFull,
        DeadlineExceeded, ModelLoadFailed, RuntimeFailure, Unauthenticated, PermissionDenied.
        """
        ...

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata: ...

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo: ...

    def model_ready(self, name: str, version: str = "") -> bool: ...

    def close(self) -> None: ...
