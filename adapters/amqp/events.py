"""The adapter's event hook: what happened to which request, for journals, audit and tests.

Events (name: fields): ``connected``, ``connect_failed``/``connection_lost`` (reason), ``consuming``,
``blocked`` (reason), ``unblocked``, ``received`` (key, redelivered), ``result_confirmed`` (key),
``returned`` (key), ``parked`` (key), ``unparked`` (key), ``request_acked`` (key), ``dead_lettered``
(key, kind, reason), ``requeued`` (key, reason), ``replayed`` (key), ``settled`` (key, outcome, message_id,
correlation_id, user_id, body_sha256, model, model_version, model_sha256: what an audit trail records once
a request is acked; ``adapters.audit``).
``key`` is the request's id (message id, else correlation id). A sink must be cheap and must not raise;
it is called on the connection's I/O thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["EventSink", "ignore_events"]

EventSink = Callable[[str, Mapping[str, Any]], None]


def ignore_events(name: str, fields: Mapping[str, Any]) -> None:
    """The default sink: the log already says what matters."""
