"""The AMQP transport's own errors, and the one place pika's exceptions are translated (STYLE P7).

* :class:`PoisonMessage` — the request can never be processed as sent (undecodable body, content type not
  on the allow-list, wrong fields, ...). It is dead-lettered with ``reason`` on its first delivery, never
  requeued.
* :class:`BrokerUnavailable` — the connection is gone or could not be opened; recoverable: the reconnect
  wrapper retries with capped back-off.
* :class:`TopologyError` — the broker refused a declaration or a consume (wrong arguments on an existing
  queue, access refused, queue missing with ``declare: false``); a configuration error that no retry fixes.
"""

from __future__ import annotations

import pika.exceptions

__all__ = ["AmqpError", "BrokerUnavailable", "PoisonMessage", "TopologyError", "is_fatal_close"]

# Channel/connection close codes that mean "the configuration is wrong": retrying cannot help.
_FATAL_REPLY_CODES = frozenset({403, 404, 406, 530})


class AmqpError(Exception):
    """Root of the AMQP transport's errors."""


class PoisonMessage(AmqpError):
    """A request that can never succeed as sent; ``reason`` goes into the dead letter's header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BrokerUnavailable(AmqpError):
    """The broker cannot be reached or dropped the connection; retried by the reconnect wrapper."""


class TopologyError(AmqpError):
    """The broker refused our topology or consume: a configuration error, reported and not retried."""


def is_fatal_close(reason: BaseException) -> bool:
    """True when a channel or connection close ``reason`` is a configuration error (403/404/406/530).

    Connection-level failures (socket errors, broker restart with 320 CONNECTION_FORCED, missed heartbeats)
    are not fatal: the reconnect wrapper retries them.
    """
    if isinstance(
        reason, pika.exceptions.ProbableAccessDeniedError | pika.exceptions.ProbableAuthenticationError
    ):
        return True
    code = getattr(reason, "reply_code", None)
    return isinstance(code, int) and code in _FATAL_REPLY_CODES


def broker_unavailable(reason: BaseException) -> BrokerUnavailable:
    """Translate a pika close reason into BrokerUnavailable, keeping the cause for the log."""
    error = BrokerUnavailable(f"broker connection lost: {describe(reason)}")
    error.__cause__ = reason
    return error


def describe(reason: BaseException) -> str:
    """A one-line description of a pika close reason: reply code and text, or the exception's name."""
    code = getattr(reason, "reply_code", None)
    text = getattr(reason, "reply_text", None)
    if code is not None:
        return f"{code} {text or ''}".strip()
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
