"""Bringing a model's versions up from disk: planning thread shares, loading beside what serves, recording
each version's state (LOADING, READY, UNAVAILABLE with the reason) in the repository's book.

Loading runs on threads (file hashing, session creation and warm-up block), a few at a time, so the event
loop keeps answering requests for the models already serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway.config import ModelYaml, ServerSettings
from gateway.errors import ModelLoadFailed
from gateway.repository import LOADING, READY, UNAVAILABLE, ModelRepository, ModelSource, VersionSource
from gateway.runtime import SessionConfig
from gateway.serving import BatchHook, LoadPlan, ServedVersion, load_session, serve_version

__all__ = ["ModelLoader", "StateSetter"]

log = logging.getLogger(__name__)

# (model, version, state, reason, failed)
StateSetter = Callable[[str, str, str, str, bool], None]
# Loads at once: each is CPU-bound (graph optimisation, warm-up); more would only slow the serving models.
_PARALLEL_LOADS = 2


class ModelLoader:
    """Turns a ``ModelSource`` into ``ServedVersion`` objects; never raises for a version that fails.

    ``planned_sessions`` is how many sessions the thread budget is split across; the core sets it before
    each load (all planned versions at start, the served ones plus the reloaded model's afterwards).
    """

    def __init__(
        self,
        settings: ServerSettings,
        repository: ModelRepository,
        set_state: StateSetter,
        on_batch: BatchHook,
    ) -> None:
        self._settings = settings
        self._repository = repository
        self._set_state = set_state
        self._on_batch = on_batch
        self._slots: asyncio.Semaphore | None = None
        self.planned_sessions = 1

    async def load(
        self, source: ModelSource, current: dict[str, ServedVersion]
    ) -> tuple[list[ServedVersion], list[str]]:
        """Load the versions ``source`` selects, beside the ``current`` ones.

        Returns the freshly loaded versions and the current versions that are no longer selected. With an
        invalid model.yaml nothing is loaded and the current versions keep serving.
        """
        name = source.name
        selected = {str(s.version) for s in source.selected}
        self._forget_stale(name, selected | set(current))
        if source.config is None:
            self._set_state(
                name, "", UNAVAILABLE, f"model '{name}' cannot be served: {source.config_error}", True
            )
            return [], []
        for version, reason in source.problems:
            self._set_state(name, str(version), UNAVAILABLE, f"{name}/{version}: {reason}", True)
        gone = [v for v in current if v not in selected]
        if not source.selected:
            reason = f"{name}: no version folder holds a model.onnx (available: {list(source.available)})"
            self._set_state(name, "", UNAVAILABLE, reason, True)
            return [], gone
        plans = [self._plan(s, source.config) for s in source.selected]
        results = await asyncio.gather(
            *(self._load_one(p, current.get(str(p.source.version))) for p in plans)
        )
        return [r for r in results if r is not None], gone

    def _forget_stale(self, name: str, keep: set[str]) -> None:
        states = self._repository.states(name) or {}
        for version in [v for v in states if v not in keep]:
            self._repository.forget(name, version)

    def _plan(self, source: VersionSource, config: ModelYaml) -> LoadPlan:
        settings = self._settings
        share = max(1, settings.threads // max(1, self.planned_sessions))
        session = SessionConfig(
            intra_op_threads=config.threads or share,
            inter_op_threads=settings.inter_op_threads,
            graph_optimization_level=settings.graph_optimization_level,
            providers=settings.execution_providers,
            allow_spinning=settings.allow_spinning,
        )
        return LoadPlan(source, config, session)

    async def _load_one(self, plan: LoadPlan, old: ServedVersion | None) -> ServedVersion | None:
        name, version = plan.source.model, str(plan.source.version)
        if old is None:
            self._set_state(name, version, LOADING, "", False)
        if self._slots is None:
            self._slots = asyncio.Semaphore(_PARALLEL_LOADS)
        try:
            async with self._slots:
                session, sha256 = await asyncio.to_thread(load_session, plan)
        except ModelLoadFailed as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"model {plan.source.label}: cannot read its model file: {exc.strerror or exc}"
        else:
            log.info("model %s loaded (sha256 %s)", plan.source.label, sha256[:12])
            return serve_version(plan, session, sha256, self._settings, self._on_batch)
        log.error("%s", reason)
        if old is None:
            self._set_state(name, version, UNAVAILABLE, reason, True)
        else:
            self._set_state(
                name, version, READY, f"reload failed, still serving the previous load: {reason}", False
            )
        return None
