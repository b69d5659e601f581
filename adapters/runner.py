"""The registry of pipeline sources that ``bridgeway run`` starts: ``kind`` -> factory.

A source package registers a factory when it is imported::

    register_source("amqp", make_amqp_pipeline)

``factory(pipeline, client, stop, audit=...)`` receives the pipeline's config (``adapters.config.Pipeline``),
the one shared ``InferenceClient`` of the process, a ``threading.Event`` that is set on SIGTERM/SIGINT and
the pipeline's ``adapters.audit.PipelineAudit`` (one event per file or message; a no-op when no audit log
is configured). It
returns a :class:`Runnable` whose ``run()`` blocks, working until ``stop`` is set, then drains (finishes or
checkpoints what it holds) and returns. ``run()`` must not raise for bad input: a pipeline that cannot go
on logs why and returns. ``bridgeway run`` calls each ``run()`` on its own thread.

Sources are found by kind: :func:`source_factory` imports ``adapters.<kind>`` (the package registers
itself) the first time a kind is asked for.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["Factory", "Runnable", "UnknownSource", "register_source", "source_factory"]


class Runnable(Protocol):
    def run(self) -> None:
        """Work until the stop event is set, then drain and return."""


#: factory(pipeline config, inference client, stop event, *, audit=PipelineAudit | None) -> Runnable
Factory = Callable[..., Runnable]

_FACTORIES: dict[str, Factory] = {}
_LOCK = threading.Lock()


class UnknownSource(LookupError):
    """No package provides this source kind."""


def register_source(kind: str, factory: Factory) -> None:
    """Make ``kind`` available to ``bridgeway run``; registering a kind again replaces its factory."""
    with _LOCK:
        _FACTORIES[kind] = factory


def source_factory(kind: str) -> Factory:
    """The factory for ``kind``, importing ``adapters.<kind>`` on first use. Raises UnknownSource."""
    with _LOCK:
        found = _FACTORIES.get(kind)
    if found is not None:
        return found
    try:
        importlib.import_module(f"adapters.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name != f"adapters.{kind}":
            raise
    with _LOCK:
        found = _FACTORIES.get(kind)
    if found is None:
        raise UnknownSource(f"no pipeline source of kind {kind!r} is installed")
    return found
