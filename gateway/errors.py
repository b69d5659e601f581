"""The gateway's error taxonomy: one class per failure a caller can act on.

Each class declares the gRPC status it maps to and whether retrying the same call can help, so that the
servicer (``gateway.status``), the remote inference client and the adapters' disposition tables all read the
same facts from one place. This module imports nothing heavy: a remote-mode adapter process imports it
without pulling in onnxruntime or a server.
"""

from __future__ import annotations

from typing import ClassVar

import grpc

__all__ = [
    "BridgewayError",
    "DeadlineExceeded",
    "InvalidInput",
    "ModelLoadFailed",
    "ModelNotFound",
    "ModelNotReady",
    "PermissionDenied",
    "QueueFull",
    "RuntimeFailure",
    "ServerDraining",
    "Unauthenticated",
    "error_for_code",
]

_BY_CODE: dict[grpc.StatusCode, type[BridgewayError]] = {}


class BridgewayError(Exception):
    """Root of every error Bridgeway reports to a caller.

    ``str(error)`` is the message a caller sees; it never carries a traceback.
    """

    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    retryable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The first class declared for a code is the one a received status is rebuilt as.
        _BY_CODE.setdefault(cls.grpc_code, cls)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(BridgewayError):
    """Wrong input name, datatype, shape or byte count; the message names the input, expected and found."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class ModelNotFound(BridgewayError):
    """Unknown model, or a version the repository does not have."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class ModelNotReady(BridgewayError):
    """The model exists but is loading, unloading or warming up; retry later."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    retryable = True


class ServerDraining(ModelNotReady):
    """The server is shutting down and takes no new work."""


class QueueFull(BridgewayError):
    """The model's batching queue is at its configured limit."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    retryable = True


class DeadlineExceeded(BridgewayError):
    """The caller's deadline passed while the request waited in the queue; it was not run."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED
    retryable = True


class ModelLoadFailed(BridgewayError):
    """The model's file could not be loaded (corrupt, unsupported op); no retry helps until it is fixed."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class RuntimeFailure(BridgewayError):
    """onnxruntime failed while running a model that loaded fine."""

    grpc_code = grpc.StatusCode.INTERNAL


class Unauthenticated(BridgewayError):
    """No bearer token, an unknown one, or no acceptable client certificate."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(BridgewayError):
    """The caller is known but may not use this model."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


def error_for_code(code: grpc.StatusCode, message: str) -> BridgewayError:
    """Rebuild the error class a server raised from the status it sent (used by remote clients)."""
    cls = _BY_CODE.get(code, BridgewayError)
    return cls(message)
