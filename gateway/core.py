"""The transport-agnostic inference core: validate -> queue to the batcher -> run -> split back.

Both the gRPC servicer and the adapters' in-process inference client call this class, so they share one
validation, one batcher, one runtime and one error taxonomy. It knows nothing about protobuf or gRPC.

Concurrency model: the core lives on one asyncio event loop (the server's). ``infer`` is a coroutine; model
execution happens on worker threads (onnxruntime releases the GIL), except runs known to be shorter than the
hand-off to a worker thread (``gateway.inline``). Every method, sync or async, must be called on that loop's
thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gateway.config import ServerSettings
from gateway.errors import (
    BridgewayError,
    ModelLoadFailed,
    ModelNotFound,
    ModelNotReady,
    RuntimeFailure,
    ServerDraining,
)
from gateway.loading import ModelLoader
from gateway.repository import (
    LOADING,
    READY,
    UNAVAILABLE,
    UNLOADING,
    ModelRepository,
    ModelSource,
    valid_model_name,
)
from gateway.serving import PLATFORM, ServedVersion
from gateway.types import (
    InferRequest,
    InferResponse,
    ModelConfigInfo,
    ModelIndexEntry,
    ModelMetadata,
    ModelStats,
    Tensor,
)

__all__ = ["InferenceCore", "InferenceObserver", "ModelStateListener"]

log = logging.getLogger(__name__)

# Called as listener(model_name, version, state) on every state change ("LOADING", "READY", "UNAVAILABLE",
# "UNLOADING"); health and metrics subscribe to it. Version "" stands for the whole model when it has no
# usable version (invalid model.yaml, no version folders).
ModelStateListener = Callable[[str, str, str], None]


class InferenceObserver(Protocol):
    """Receives timing facts from the core; Prometheus metrics (gateway.metrics) implement it.

    Called on the event loop; implementations must be cheap and thread-safe. ``request_started`` is called
    once a request's version is resolved; a request that fails before that (unknown model, draining) only
    gets ``request_finished`` with version "".
    """

    def request_started(self, model: str, version: str) -> None: ...

    def request_finished(
        self, model: str, version: str, ok: bool, queue_s: float, compute_s: float, total_s: float
    ) -> None:
        """``version`` is "" when the request failed before a version was resolved."""

    def batch_executed(self, model: str, version: str, batch_size: int, compute_s: float) -> None: ...


@dataclass(eq=False)
class _Route:
    """Where requests for one model go: its served versions and the default (highest ready) one."""

    versions: dict[str, ServedVersion] = field(default_factory=dict)
    default: ServedVersion | None = None

    def refresh_default(self) -> None:
        self.default = self.versions[max(self.versions, key=int)] if self.versions else None


class InferenceCore:
    """Serves every model in a repository.

    Errors are the classes of ``gateway.errors``: ModelNotFound, ModelNotReady/ServerDraining, InvalidInput,
    QueueFull, DeadlineExceeded, ModelLoadFailed, RuntimeFailure.

    ``repository`` defaults to ``ModelRepository(settings.models_dir)``; both stay readable as ``settings``
    and ``repository``. The default version of a model is its highest ready one. Each served version has its
    own statistics, worker threads and scheduler (``gateway.batcher`` when batched, else
    ``gateway.scheduling.DirectScheduler``); a version that is replaced or unloaded closes only once its
    in-flight requests finished.
    """

    def __init__(self, settings: ServerSettings, repository: ModelRepository | None = None) -> None:
        self.settings = settings
        self.repository = repository or ModelRepository(settings.models_dir)
        self._routes: dict[str, _Route] = {}
        self._listeners: list[ModelStateListener] = []
        self._observers: list[InferenceObserver] = []
        self._loader = ModelLoader(settings, self.repository, self._set_state, self._batch_done)
        self._locks: dict[str, asyncio.Lock] = {}
        self._retiring: dict[asyncio.Task[None], ServedVersion] = {}  # replaced, closing once idle
        self._started = False
        self._draining = False
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every model the repository and version policies name, warm each up; failures are recorded."""
        sources = await asyncio.to_thread(self.repository.scan)
        self._loader.planned_sessions = sum(len(s.selected) for s in sources if s.config is not None)
        await asyncio.gather(*(self._load(source.name, source) for source in sources))
        self._started = True
        ready = sum(len(r.versions) for r in self._routes.values())
        log.info("serving %d model version(s) of %d model(s)", ready, len(sources))

    async def stop(self, grace_s: float) -> None:
        """Refuse new work (ServerDraining), let queued and running requests finish within ``grace_s``."""
        self._draining = True
        served = [v for route in self._routes.values() for v in route.versions.values()]
        served += [v for v in self._retiring.values() if v not in served]
        if served:
            await asyncio.wait([asyncio.ensure_future(v.wait_idle(grace_s)) for v in served])
        for version in served:
            version.close(ServerDraining("the server stopped before the request ran"))
            self._set_state(version.name, version.version, UNAVAILABLE, "server stopped")
        self._routes.clear()
        for task in list(self._retiring):
            task.cancel()
        self._retiring.clear()
        self._stopped = True

    # --- inference ----------------------------------------------------------------------------------------

    async def infer(self, request: InferRequest) -> InferResponse:
        """Run one request, batched with concurrent ones where the model allows. Raises gateway.errors."""
        start = time.perf_counter_ns()
        try:
            served = self._resolve(request.model_name, request.model_version)
        except BridgewayError:
            for observer in self._observers:
                observer.request_finished(request.model_name, "", False, 0.0, 0.0, _since(start))
            raise
        name, version, observers = served.name, served.version, self._observers
        for observer in observers:
            observer.request_started(name, version)
        served.in_flight += 1  # no await since _resolve: a retiring version cannot miss this request
        try:
            feeds, rows, key, outputs = served.validator.validate(request)
            result, queue_ns, compute = await served.scheduler.submit(
                feeds, rows, key, outputs, request.deadline
            )
        except BaseException as exc:
            total_ns = time.perf_counter_ns() - start
            served.stats.request_failed(total_ns)
            for observer in observers:
                observer.request_finished(name, version, False, 0.0, 0.0, total_ns / 1e9)
            if isinstance(exc, Exception) and not isinstance(exc, BridgewayError):
                log.exception("model %s/%s: unexpected failure", name, version)
                raise RuntimeFailure(f"model {name}/{version} failed: {type(exc).__name__}") from exc
            raise
        finally:
            served.finished_one()
        total_ns = time.perf_counter_ns() - start
        served.stats.request_succeeded(total_ns, queue_ns, compute)
        for observer in observers:
            observer.request_finished(name, version, True, queue_ns / 1e9, sum(compute) / 1e9, total_ns / 1e9)
        names = outputs or served.session.output_names
        datatypes = served.validator.output_datatypes
        tensors = [Tensor(n, datatypes[n], data) for n, data in zip(names, result, strict=True)]
        return InferResponse(name, version, tensors, request.id, model_sha256=served.sha256)

    def _resolve(self, name: str, version: str) -> ServedVersion:
        if self._draining:
            raise ServerDraining("the server is shutting down and takes no new requests")
        route = self._routes.get(name)
        if route is not None:
            served = route.versions.get(version) if version else route.default
            if served is not None:
                return served
        raise self._why_not_served(name, version)

    def _why_not_served(self, name: str, version: str) -> BridgewayError:
        """The error for a model (version) that has no served session, from the state book."""
        states = self.repository.states(name)
        if not states:
            return ModelNotFound(f"unknown model {name!r}")
        if version and version not in states:
            served = ", ".join(sorted(states, key=lambda v: int(v) if v.isdigit() else 0)) or "none"
            return ModelNotFound(f"model '{name}' has no version '{version}' (versions: {served})")
        wanted = [version] if version else list(states)
        found = [(v, states[v]) for v in wanted]
        for v, st in found:
            if st.state in (LOADING, UNLOADING):
                return ModelNotReady(f"model '{name}' version {v} is {st.state.lower()}")
        failures = [st.reason for _, st in found if st.failed]
        if len(failures) == 1:
            return ModelLoadFailed(failures[0])
        if failures:
            return ModelLoadFailed(f"model '{name}' has no loadable version: " + "; ".join(failures))
        return ModelNotReady(f"model '{name}' is not loaded")

    # --- introspection ------------------------------------------------------------------------------------

    def server_live(self) -> bool:
        """True until stop() finished."""
        return not self._stopped

    def server_ready(self) -> bool:
        """True once start() finished and while not draining (a failed model does not make it unready)."""
        return self._started and not self._draining

    def model_ready(self, name: str, version: str = "") -> bool:
        try:
            self._resolve(name, version)
        except BridgewayError:
            return False
        return True

    def model_metadata(self, name: str, version: str = "") -> ModelMetadata:
        """Signature of the resolved version; ``versions`` lists the ready ones. Raises like ``infer``."""
        served = self._resolve(name, version)
        versions = tuple(sorted(self._routes[name].versions, key=int))
        return ModelMetadata(name, versions, PLATFORM, served.session.inputs, served.session.outputs)

    def model_config(self, name: str, version: str = "") -> ModelConfigInfo:
        return self._resolve(name, version).config_info

    def model_statistics(self, name: str = "", version: str = "") -> list[ModelStats]:
        """Statistics for one model (all its loaded versions, or one), or every model when name is ""."""
        if not name:
            return [v.stats.snapshot() for n in sorted(self._routes) for v in self._sorted_versions(n)]
        route = self._routes.get(name)  # not _resolve: statistics stay readable while draining
        if route is None:
            raise self._why_not_served(name, version)
        if version:
            served = route.versions.get(version)
            if served is None:
                raise self._why_not_served(name, version)
            return [served.stats.snapshot()]
        return [v.stats.snapshot() for v in self._sorted_versions(name)]

    def _sorted_versions(self, name: str) -> list[ServedVersion]:
        versions = self._routes[name].versions
        return [versions[v] for v in sorted(versions, key=int)]

    def repository_index(self, ready_only: bool = False) -> list[ModelIndexEntry]:
        """Every model version the repository holds, with state and, for failures, the reason."""
        return self.repository.index(ready_only)

    def model_names(self) -> list[str]:
        """Every model the repository knows (served, failed or unloaded), sorted."""
        return self.repository.known_models()

    # --- repository control -------------------------------------------------------------------------------

    async def load_model(self, name: str) -> None:
        """(Re)load a model from disk: new versions appear, removed ones go, in-flight requests finish.

        Each version is loaded and warmed up beside the one it replaces, then swapped in; the old one closes
        once its in-flight requests finished. A version whose reload fails keeps serving the previous load,
        and when none of the versions the policy selects loads, the versions serving so far stay.
        Raises ModelNotFound if the folder does not exist, ModelLoadFailed if no selected version could be
        loaded.
        """
        if self._draining:
            raise ServerDraining("the server is shutting down")
        source = await asyncio.to_thread(self.repository.read_model, name)
        others = sum(len(r.versions) for n, r in self._routes.items() if n != name)
        self._loader.planned_sessions = others + len(source.selected)
        if await self._load(name, source):
            return
        error = self._why_not_served(name, "")
        route = self._routes.get(name)
        if route is not None and route.versions and isinstance(error, ModelLoadFailed):
            kept = ", ".join(sorted(route.versions, key=int))
            raise ModelLoadFailed(f"{error}; still serving version(s) {kept}")
        raise error

    async def unload_model(self, name: str) -> None:
        """Stop serving a model once its in-flight requests finished. Raises ModelNotFound."""
        if not valid_model_name(name) or self.repository.states(name) is None:
            raise ModelNotFound(f"unknown model {name!r}")
        async with self._lock(name):
            route = self._routes.pop(name, None)
            if route is None:
                return
            for served in route.versions.values():
                self._set_state(name, served.version, UNLOADING)
            await asyncio.gather(*(self._retire(v, "unloaded") for v in route.versions.values()))

    async def _load(self, name: str, source: ModelSource) -> bool:
        """Load ``source`` beside what serves and swap; True when a version the policy selects serves."""
        async with self._lock(name):
            route = self._routes.setdefault(name, _Route())
            loaded, gone = await self._loader.load(source, route.versions)
            for served in loaded:
                old = route.versions.get(served.version)
                route.versions[served.version] = served
                self._set_state(name, served.version, READY)
                if old is not None:
                    self._retire_later(old, "")
            selected_serving = any(v not in gone for v in route.versions)
            if selected_serving:  # otherwise a bad deployment would take the model down: keep what serves
                for version in gone:
                    old = route.versions.pop(version)
                    self._set_state(name, version, UNLOADING)
                    self._retire_later(old, None)
            route.refresh_default()
            if not route.versions:
                del self._routes[name]
            return selected_serving

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    def _retire_later(self, served: ServedVersion, final: str | None) -> None:
        task = asyncio.get_running_loop().create_task(self._retire(served, final))
        self._retiring[task] = served
        task.add_done_callback(lambda t: self._retiring.pop(t, None))

    async def _retire(self, served: ServedVersion, final: str | None) -> None:
        """Close ``served`` once idle (or after the drain grace). ``final``: reason to record as
        UNAVAILABLE; "" keeps the book as is (a newer load serves that version); None forgets the version."""
        if not await served.wait_idle(self.settings.drain_grace_s):
            log.warning(
                "model %s/%s: closing with %d request(s) still in flight",
                served.name,
                served.version,
                served.in_flight,
            )
        served.close(
            ModelNotReady(f"model {served.name}/{served.version} was unloaded before the request ran")
        )
        if final is None:
            self.repository.forget(served.name, served.version)
            self._notify(served.name, served.version, UNAVAILABLE)
        elif final:
            self._set_state(served.name, served.version, UNAVAILABLE, final)

    # --- listeners ----------------------------------------------------------------------------------------

    def add_state_listener(self, listener: ModelStateListener) -> None:
        self._listeners.append(listener)

    def add_observer(self, observer: InferenceObserver) -> None:
        self._observers.append(observer)

    def _set_state(self, name: str, version: str, state: str, reason: str = "", failed: bool = False) -> None:
        self.repository.set_state(name, version, state, reason, failed)
        self._notify(name, version, state)

    def _notify(self, name: str, version: str, state: str) -> None:
        for listener in self._listeners:
            try:
                listener(name, version, state)
            except Exception:
                log.exception("state listener failed for %s/%s -> %s", name, version, state)

    def _batch_done(self, name: str, version: str, rows: int, infer_ns: int) -> None:
        for observer in self._observers:
            observer.batch_executed(name, version, rows, infer_ns / 1e9)


def _since(start_ns: int) -> float:
    return (time.perf_counter_ns() - start_ns) / 1e9
