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

import re

import pika.exceptions

__all__ = ["AmqpError", "BrokerUnavailable", "PoisonMessage", "TopologyError", "is_fatal_close"]

# Channel/connection close codes that mean "the configuration is wrong": retrying cannot help.
_FATAL_REPLY_CODES = frozenset({403, 404, 406, 530})
_BROKER_CLOSE = re.compile(r"ConnectionClosedByBroker: \((\d+)\)")
_HANDSHAKE_GUESSES = (pika.exceptions.ProbableAccessDeniedError, pika.exceptions.ProbableAuthenticationError)


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
    if isinstance(reason, _HANDSHAKE_GUESSES):
        # pika's guess from the handshake stage at which the connection ended; its argument is the repr of
        # what ended it. Only an explicit refusal by the broker is a configuration error: a socket dropped
        # during the handshake (a network cut, a broker restarting) is retried like any other loss.
        found = _BROKER_CLOSE.search(str(reason.args[0]) if reason.args else "")
        return found is not None and int(found.group(1)) in _FATAL_REPLY_CODES
    code = getattr(reason, "reply_code", None)
    return isinstance(code, int) and code in _FATAL_REPLY_CODES


def describe(reason: BaseException) -> str:
    """A one-line description of a pika close reason: reply code and text, or the exception's name."""
    code = getattr(reason, "reply_code", None)
    text = getattr(reason, "reply_text", None)
    if code is not None:
        return f"{code} {text or ''}".strip()
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
