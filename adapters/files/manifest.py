"""The per-input manifest published next to each result: what was scored, by which model, with what result.

``<stem>.manifest.json`` lets an operator or a consumer check a result without opening it: record counts,
the model name with every version (and ONNX SHA-256) that scored records of this input, the SHA-256 and
size of the input, the result and the rejects file, and timings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata

from adapters.config import Pipeline
from adapters.files.ledger import Entry
from adapters.pipeline import parse_model_ref

__all__ = ["manifest_document"]


def manifest_document(
    config: Pipeline,
    entry: Entry,
    run_id: str,
    result: tuple[str, str, int],
    rejects: tuple[str, str, int] | None,
    now: float,
) -> bytes:
    """The manifest as UTF-8 JSON. ``result``/``rejects`` are (file name, sha256, bytes)."""
    checkpoint = entry.checkpoint
    model, version = parse_model_ref(config.model)
    started = entry.started_at or entry.claimed_at
    document = {
        "pipeline": config.name,
        "input": {"name": entry.name, "sha256": entry.sha256, "bytes": entry.size},
        "records": {
            "total": checkpoint.scored + checkpoint.rejected,
            "scored": checkpoint.scored,
            "rejected": checkpoint.rejected,
        },
        "result": {"name": result[0], "sha256": result[1], "bytes": result[2], "records": checkpoint.scored},
        "rejects": None
        if rejects is None
        else {"name": rejects[0], "sha256": rejects[1], "bytes": rejects[2], "records": checkpoint.rejected},
        "model": {
            "name": model,
            "requested_version": version or "default",
            "versions": [{"version": v, "sha256": s} for v, s in sorted(checkpoint.models.items())],
        },
        "run_id": run_id,
        "timings": {
            "claimed_at": _time(entry.claimed_at),
            "started_at": _time(started),
            "finished_at": _time(now),
            "seconds": round(max(0.0, now - started), 3),
        },
        "bridgeway_version": _version(),
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _version() -> str:
    try:
        return metadata.version("bridgeway")
    except metadata.PackageNotFoundError:
        return "unknown"
