"""The transport-agnostic inference core: validate -> queue to the batcher -> run -> split back.

Both the gRPC servicer and the adapters' in-process inference client call this class, so they share one
validation, one batcher, one runtime and one error taxonomy. It knows nothing about protobuf or gRPC.

Concurrency model: the core lives on one asyncio event loop (the server's). ``infer`` is a coroutine; model
execution happens on worker threads (onnxruntime releases the GIL), never on the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gateway.types import (
    InferRequest,
    InferResponse,
    ModelConfigInfo,
    ModelIndexEntry,
    ModelMetadata,
    ModelStats,
)

__all__ = ["InferenceCore", "InferenceObserver", "ModelStateListener"]

# Called as listener(model_name, version, state) on every state change ("LOADING", "READY", "UNAVAILABLE",
# "UNLOADING"); health and metrics subscribe to it.
ModelStateListener = Callable[[str, str, str], None]


class InferenceObserver(Protocol):
    """Receives timing facts from the core; Prometheus metrics (gateway.metrics) implement it.

    Called on the event loop or a worker thread; implementations must be cheap and thread-safe.
    """

    def request_started(self, model: str, version: str) -> None: ...

    def request_finished(
        self, model: str, version: str, ok: bool, queue_s: float, compute_s: float, total_s: float
    ) -> None:
        """``version`` is "" when the request failed before a version was resolved."""

    def batch_executed(self, model: str, version: str, batch_size: int, compute_s: float) -> None: ...


class InferenceCore:
    """Serves every model in a repository.

    Errors are the classes of ``gateway.errors``: ModelNotFound, ModelNotReady/ServerDraining, InvalidInput,
    QueueFull, DeadlineExceeded, ModelLoadFailed, RuntimeFailure.
    """

    async def start(self) -> None:
        """Load every model the repository and version policies name, warm each up; failures are recorded."""
        raise NotImplementedError

    async def stop(self, grace_s: float) -> None:
        """Refuse new work (ServerDraining), let queued and running requests finish within ``grace_s``."""
        raise NotImplementedError

    async def infer(self, request: InferRequest) -> InferResponse:
        """Run one request, batched with concurrent ones where the model allows. Raises gateway.errors."""
        raise NotImplementedError

    def server_live(self) -> bool:
        raise NotImplementedError

    def server_ready(self) -> bool:
        """True once start() finished and while not draining (a failed model does not make it unready)."""
        raise NotImplementedError

    def model_ready(self, name: str, version: str = "") -> bool:
        raise NotImplementedError

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata:
        raise NotImplementedError

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo:
        raise NotImplementedError

    def model_statistics(self, name: str = "", version: str = "") -> list[ModelStats]:
        """Statistics for one model (all its loaded versions, or one), or every model when name is ""."""
        raise NotImplementedError

    def repository_index(self, ready_only: bool = False) -> list[ModelIndexEntry]:
        """Every model version the repository holds, with state and, for failures, the reason."""
        raise NotImplementedError

    async def load_model(self, name: str) -> None:
        """(Re)load a model from disk: new versions appear, removed ones go, in-flight requests finish.

        Raises ModelNotFound if the folder does not exist, ModelLoadFailed if no version could be loaded.
        """
        raise NotImplementedError

    async def unload_model(self, name: str) -> None:
        """Stop serving a model once its in-flight requests finished. Raises ModelNotFound."""
        raise NotImplementedError

    def add_state_listener(self, listener: ModelStateListener) -> None:
        raise NotImplementedError

    def add_observer(self, observer: InferenceObserver) -> None:
        raise NotImplementedError

    def model_names(self) -> list[str]:
        raise NotImplementedError
