"""Files pipelines: the folder protocol of DESIGN.md "Adapters" and RELIABILITY.md "Folder state machine".

Importing this package registers the ``files`` source kind with :mod:`adapters.runner`.
"""

from __future__ import annotations

import threading
from typing import Any

from adapters.audit import PipelineAudit
from adapters.client.base import InferenceClient
from adapters.files.faults import FaultPlan
from adapters.runner import Runnable, register_source

__all__ = ["files_source"]


def files_source(
    config: Any,
    client: InferenceClient,
    stop: threading.Event,
    faults: FaultPlan | None = None,
    audit: PipelineAudit | None = None,
) -> Runnable:
    """The ``files`` factory: a folder watcher for ``config`` (an ``adapters.config.Pipeline``)."""
    from adapters.files.watcher import FolderWatcher

    return FolderWatcher(config, client, stop, faults=faults, audit=audit)


register_source("files", files_source)
