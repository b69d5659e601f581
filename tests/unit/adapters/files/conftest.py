"""Fixtures for the folder protocol unit tests: a files pipeline over tmp folders, the fake classifier."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.config import Pipeline, parse_config
from adapters.files.folders import Folders
from adapters.files.watcher import folders_of

MakePipeline = Callable[..., Pipeline]


@pytest.fixture
def make_pipeline(tmp_path: Path) -> MakePipeline:
    """A files pipeline for the fake ``classifier`` model; keyword arguments override pipeline keys and
    ``source`` keys (``ready``, ``pattern``, ...)."""

    def make(**overrides: Any) -> Pipeline:
        source = {
            "kind": "files",
            "inbox": "in",
            "outbox": "out",
            "archive": "archive",
            "errors": "errors",
            "ready": "rename",
            "poll_interval": 0.01,
        }
        for key in list(overrides):
            if key in ("ready", "pattern", "stable_seconds", "done_marker", "max_attempts", "poll_interval"):
                source[key] = overrides.pop(key)
        pipeline = {
            "name": "claims",
            "model": "classifier",
            "source": source,
            "input": {"format": "csv"},
            "output": {"format": "csv", "carry": ["claim_id"]},
            "chunk_rows": 4,
            **overrides,
        }
        return parse_config({"pipelines": [pipeline]}, tmp_path).pipelines[0]

    return make


@pytest.fixture
def folders(make_pipeline: MakePipeline) -> Folders:
    prepared = folders_of(make_pipeline())
    prepared.prepare()
    return prepared


def claims_csv(rows: int, poison: set[int] = frozenset()) -> bytes:
    """``claim_id,mean_radius,mean_texture`` with ``rows`` records; records in ``poison`` carry the value the
    fake model refuses (record numbers are 1-based)."""
    lines = ["claim_id,mean_radius,mean_texture"]
    for number in range(1, rows + 1):
        value = "-999" if number in poison else f"{number / 10:.1f}"
        lines.append(f"C{number:05d},{value},0.5")
    return ("\n".join(lines) + "\n").encode()
