"""Bridgeway gateway: model repository, onnxruntime runtime, dynamic batcher and the gRPC service.

Importing this package is cheap; heavy modules (``runtime``, ``server``) are imported where they are used.
"""

from gateway.errors import (
    BridgewayError,
    DeadlineExceeded,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    ModelNotReady,
    PermissionDenied,
    QueueFull,
    RuntimeFailure,
    ServerDraining,
    Unauthenticated,
)
from gateway.types import InferRequest, InferResponse, ModelMetadata, Tensor, TensorSpec

__all__ = [
    "BridgewayError",
    "DeadlineExceeded",
    "InferRequest",
    "InferResponse",
    "InvalidInput",
    "ModelLoadFailed",
    "ModelMetadata",
    "ModelNotFound",
    "ModelNotReady",
    "PermissionDenied",
    "QueueFull",
    "RuntimeFailure",
    "ServerDraining",
    "Tensor",
    "TensorSpec",
    "Unauthenticated",
]
