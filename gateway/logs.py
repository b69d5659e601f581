"""Structured logging: one JSON object per line on stderr, carrying the current request id.

Every record's message becomes the ``event`` key; ``extra={...}`` keys become top-level keys, so a line such
as ``{"event": "listening", "port": 8001, "metrics_port": 8002}`` can be found by a machine. The request id
of the call being served (``request_id_var``, set by ``gateway.call_scope`` and the servicer) is added to
every line logged while serving it.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from gateway.masking import Masker

__all__ = ["JsonFormatter", "configure_logging", "request_id_var"]

# "" outside a call. A ContextVar, because grpc.aio runs each call in its own task.
request_id_var: ContextVar[str] = ContextVar("bridgeway_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, event, request_id, extras, exception.

    ``mask``: field names whose values are hidden wherever they appear in the line (``gateway.masking``).
    """

    def __init__(self, mask: Iterable[str] = ()) -> None:
        super().__init__()
        self._masker = Masker(mask)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # Server-side only: tracebacks go to the log, never into a status message.
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        if self._masker:
            line = self._masker.fields(line)
        return json.dumps(line, default=str, ensure_ascii=False)


# Libraries whose DEBUG output carries message bodies or headers (pika logs its callbacks' arguments): they
# stay at INFO even when Bridgeway logs at DEBUG, so that no payload reaches a log unless asked for.
_PAYLOAD_LOGGERS = ("pika",)


def configure_logging(
    level: int | str = logging.INFO, stream: TextIO | None = None, mask: Iterable[str] = ()
) -> None:
    """Route every logger to one JSON handler on ``stream`` (stderr by default), replacing other handlers.

    ``mask``: field names to hide wherever they appear (``logging: {mask: [...]}`` in the config).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(mask))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
