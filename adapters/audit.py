"""Audit events of the pipelines: one per file (files pipeline) and one per message (AMQP pipeline).

``bridgeway run`` opens one ``gateway.audit.AuditLog`` when ``audit: {log: FILE}`` is configured and hands
each pipeline a :class:`PipelineAudit` bound to its name (a no-op one otherwise). Events carry who, which
model version and file SHA-256, the input's identity and the outcome, never a record value:

* file: ``who`` is ``files:<pipeline>``; ``input_ref`` is ``{file, sha256, records: [first, last],
  scored, rejected}``; ``outcome`` is ``OK`` or ``FAILED``;
* message: ``who`` is the AMQP ``user_id`` property (``amqp:<user>``; RabbitMQ checks it against the
  connection's user), else ``amqp:<pipeline>``; ``input_ref`` is ``{message_id, correlation_id,
  body_sha256}``; ``outcome`` is ``OK``, ``PARKED`` (result unroutable, kept for re-publishing) or
  ``DEAD_LETTERED:<kind>``.

A file or message scored across a model hot swap names every version that scored part of it, comma-joined
in ascending order, with their SHA-256s in the same order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.audit import AuditLog, FsyncPolicy

__all__ = ["PipelineAudit", "open_audit_log"]


def open_audit_log(path: Path, max_bytes: int, fsync: FsyncPolicy) -> AuditLog:
    """The pipelines' audit log (``source: pipelines``). Raises gateway.audit.AuditError."""
    return AuditLog(path, max_bytes=max_bytes, fsync=fsync, source="pipelines")


def _versions(models: Mapping[str, str]) -> tuple[str, str]:
    ordered = sorted(models.items(), key=lambda item: (len(item[0]), item[0]))
    return ",".join(v for v, _ in ordered), ",".join(s for _, s in ordered)


class PipelineAudit:
    """Records the audit events of one pipeline. Thread-safe (the AuditLog is); cheap when ``log`` is None."""

    def __init__(self, log: AuditLog | None, pipeline: str, model: str) -> None:
        self._log = log
        self.pipeline = pipeline
        self.model = model.split(":", 1)[0]
        self._received: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        return self._log is not None

    def file_finished(
        self,
        *,
        name: str,
        sha256: str,
        scored: int,
        rejected: int,
        models: Mapping[str, str],
        outcome: str,
        seconds: float,
        run_id: str = "",
    ) -> None:
        """One event for a file that was published (``OK``) or moved to errors (``FAILED``)."""
        if self._log is None:
            return
        version, digest = _versions(models)
        total = scored + rejected
        self._log.record(
            who=f"files:{self.pipeline}",
            model=self.model,
            model_version=version,
            model_sha256=digest,
            request_id=sha256,
            input_ref={
                "file": name,
                "sha256": sha256,
                "records": [1, total] if total else [],
                "scored": scored,
                "rejected": rejected,
            },
            outcome=outcome,
            latency_ms=seconds * 1e3,
            pipeline=self.pipeline,
            run_id=run_id,
        )

    def amqp_events(self, name: str, fields: Mapping[str, Any]) -> None:
        """An ``adapters.amqp.events`` sink: ``received`` starts the clock, ``settled`` records the event."""
        if self._log is None:
            return
        key = str(fields.get("key") or "")
        if name == "received":
            self._received.setdefault(key, time.monotonic())
        elif name == "settled":
            started = self._received.pop(key, None)
            self.message_finished(fields, (time.monotonic() - started) if started is not None else 0.0)

    def message_finished(self, fields: Mapping[str, Any], seconds: float) -> None:
        """One event for a message whose outcome was carried out (see the module docstring)."""
        if self._log is None:
            return
        user = str(fields.get("user_id") or "")
        self._log.record(
            who=f"amqp:{user}" if user else f"amqp:{self.pipeline}",
            model=str(fields.get("model") or self.model),
            model_version=str(fields.get("model_version") or ""),
            model_sha256=str(fields.get("model_sha256") or ""),
            request_id=str(fields.get("key") or ""),
            input_ref={
                "message_id": fields.get("message_id"),
                "correlation_id": fields.get("correlation_id"),
                "body_sha256": fields.get("body_sha256"),
            },
            outcome=str(fields.get("outcome") or "OK"),
            latency_ms=seconds * 1e3,
            pipeline=self.pipeline,
        )
