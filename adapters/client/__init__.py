"""Inference clients: the ``InferenceClient`` protocol and its in-process and remote implementations.

The implementations are imported on first use, so that importing this package stays cheap: the in-process
client pulls in onnxruntime, the remote one grpc channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.client.base import InferenceClient

if TYPE_CHECKING:
    from adapters.client.local import LocalInferenceClient
    from adapters.client.remote import RemoteInferenceClient, RetryPolicy, TlsOptions

__all__ = ["InferenceClient", "LocalInferenceClient", "RemoteInferenceClient", "RetryPolicy", "TlsOptions"]

_LAZY = {
    "LocalInferenceClient": "adapters.client.local",
    "RemoteInferenceClient": "adapters.client.remote",
    "RetryPolicy": "adapters.client.remote",
    "TlsOptions": "adapters.client.remote",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
