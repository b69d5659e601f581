"""The reconnect wrapper: pika has no automatic recovery (RELIABILITY fact 6), so this module owns it.

:class:`ReconnectingConnection` runs pika's ``SelectConnection`` I/O loop on the calling thread. Each time a
channel opens it hands it to the :class:`Session` (which declares, consumes and publishes); when the
connection or channel goes away it tells the session and connects again after a capped, jittered,
exponential back-off — until the stop event is set and the session has drained, or a configuration error
(access refused, wrong queue arguments) makes retrying pointless.

Dead peers are found by AMQP heartbeats (``heartbeat_s``): pika closes a connection that received nothing
for ``heartbeat_s + 5`` seconds, checked every ``heartbeat_s + 5`` seconds. ``connection.blocked`` /
``unblocked`` (broker alarms) are logged and passed on.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pika
import pika.channel
import pika.exceptions

from adapters.amqp.errors import TopologyError, describe, is_fatal_close
from adapters.amqp.settings import AmqpSourceSettings, ReconnectSettings

__all__ = ["ReconnectingConnection", "Session", "connection_parameters"]

log = logging.getLogger(__name__)

_TICK_S = 0.1  # how often the session gets a tick on the I/O thread (stop checks, timers)


class Session(Protocol):
    """What the wrapper drives; every method runs on the I/O thread."""

    def on_ready(
        self, connection: pika.SelectConnection, channel: pika.channel.Channel, generation: int
    ) -> None:
        """A new channel is open (``generation`` counts channels); set up and start consuming."""

    def on_lost(self, reason: BaseException) -> None:
        """The channel or connection is gone; forget everything tied to it."""

    def on_blocked(self, blocked: bool) -> None: ...

    def on_tick(self) -> None:
        """Called every ~0.1 s while connected (stop requests, timers)."""


def connection_parameters(
    source: AmqpSourceSettings, environ: Mapping[str, str], name: str
) -> pika.URLParameters:
    """pika parameters from the settings: URL (with credentials from config or environment), heartbeat,
    client-visible connection name, and TLS for ``amqps://`` URLs. pika's own retries are off: we own them."""
    params = pika.URLParameters(source.resolved_url(environ))
    params.heartbeat = source.heartbeat_s
    params.connection_attempts = 1
    # A blackholed attempt (SYN or handshake never answered) must give up in time for the next one.
    params.socket_timeout = source.connect_timeout_s
    params.stack_timeout = source.connect_timeout_s
    params.blocked_connection_timeout = None  # a blocked connection waits for the alarm to clear
    params.client_properties = {"connection_name": source.connection_name or name, "product": "bridgeway"}
    tls = source.tls
    if tls is not None:
        context = ssl.create_default_context(cafile=tls.root_ca)  # None: the system's trusted roots
        if tls.client_cert is not None:
            context.load_cert_chain(tls.client_cert, tls.client_key)
        params.ssl_options = pika.SSLOptions(context, tls.server_name or params.host)
    return params


class ReconnectingConnection:
    """Keeps one connection and channel alive for a session; see the module docstring."""

    def __init__(
        self,
        parameters: pika.ConnectionParameters,
        session: Session,
        backoff: ReconnectSettings,
        stop: threading.Event,
        on_event: Callable[[str, dict[str, Any]], None] = lambda name, fields: None,
    ) -> None:
        self._parameters = parameters
        self._session = session
        self._backoff = backoff
        self._stop = stop
        self._on_event = on_event
        self._connection: pika.SelectConnection | None = None
        self._generation = 0
        self._attempt = 0
        self._finished = False
        self._fatal: BaseException | None = None
        self._setting_up = False

    def run(self) -> None:
        """Connect, serve, reconnect; returns after :meth:`finish`, or when stopped while disconnected.

        Raises TopologyError when the broker refuses our credentials, declarations or consume.
        """
        while True:
            self._connect_once()
            if self._fatal is not None:
                raise TopologyError(
                    f"broker refused the pipeline's setup: {describe(self._fatal)}"
                ) from self._fatal
            if self._finished or self._stop.is_set():
                return
            delay = self._delay()
            log.info("amqp: reconnecting in %.2f s", delay)
            if self._stop.wait(delay):
                return

    def healthy(self) -> None:
        """The session is consuming: reset the back-off and treat later refusals as transient."""
        self._attempt = 0
        self._setting_up = False

    def post(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` on the I/O thread (from any thread); False when there is no connection."""
        connection = self._connection
        if connection is None:
            return False
        try:
            connection.ioloop.add_callback_threadsafe(callback)
        except (pika.exceptions.ConnectionWrongStateError, RuntimeError, OSError, AttributeError):
            return False  # the loop is closing: the work it carried belongs to a channel that is gone
        return True

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the I/O thread after ``delay_s`` (I/O thread only)."""
        if self._connection is not None:
            self._connection.ioloop.call_later(delay_s, callback)

    def finish(self) -> None:
        """The session is done (drained after a stop): close and make :meth:`run` return. I/O thread only."""
        self._finished = True
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _connect_once(self) -> None:
        self._setting_up = True
        self._connection = pika.SelectConnection(
            self._parameters,
            on_open_callback=self._opened,
            on_open_error_callback=self._open_failed,
            on_close_callback=self._closed,
        )
        ioloop = self._connection.ioloop
        ioloop.start()
        self._connection = None
        ioloop.close()  # each SelectConnection has its own loop: release its poller and wake-up pipe

    def _opened(self, connection: pika.SelectConnection) -> None:
        log.info("amqp: connected to %s:%s", self._parameters.host, self._parameters.port)
        self._on_event("connected", {})
        connection.add_on_connection_blocked_callback(self._blocked)
        connection.add_on_connection_unblocked_callback(self._unblocked)
        connection.channel(on_open_callback=self._channel_opened)
        connection.ioloop.call_later(_TICK_S, self._tick)

    def _channel_opened(self, channel: pika.channel.Channel) -> None:
        self._generation += 1
        channel.add_on_close_callback(self._channel_closed)
        assert self._connection is not None
        self._session.on_ready(self._connection, channel, self._generation)

    def _channel_closed(self, channel: pika.channel.Channel, reason: BaseException) -> None:
        if self._setting_up and is_fatal_close(reason):
            self._fatal = reason
        if not self._finished:
            log.warning("amqp: channel closed: %s", describe(reason))
        self._session.on_lost(reason)
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _open_failed(self, connection: pika.SelectConnection, error: BaseException | str) -> None:
        reason = error if isinstance(error, BaseException) else pika.exceptions.AMQPConnectionError(error)
        if is_fatal_close(reason):
            self._fatal = reason
        log.warning("amqp: cannot connect: %s", describe(reason))
        self._on_event("connect_failed", {"reason": describe(reason)})
        connection.ioloop.stop()

    def _closed(self, connection: pika.SelectConnection, reason: BaseException) -> None:
        if not self._finished:
            log.warning("amqp: connection lost: %s", describe(reason))
        self._on_event("connection_lost", {"reason": describe(reason)})
        self._session.on_lost(reason)
        connection.ioloop.stop()

    def _blocked(self, connection: pika.SelectConnection, frame: Any) -> None:
        reason = getattr(frame.method, "reason", "")
        log.warning("amqp: connection.blocked by the broker: %s", reason)
        self._on_event("blocked", {"reason": reason})
        self._session.on_blocked(True)

    def _unblocked(self, connection: pika.SelectConnection, frame: Any) -> None:
        log.info("amqp: connection.unblocked")
        self._on_event("unblocked", {})
        self._session.on_blocked(False)

    def _tick(self) -> None:
        connection = self._connection
        if connection is None or not connection.is_open:
            return
        self._session.on_tick()
        connection.ioloop.call_later(_TICK_S, self._tick)

    def _delay(self) -> float:
        """Capped exponential back-off with jitter (half to full of the step)."""
        step = min(self._backoff.max_ms, self._backoff.initial_ms * 2**self._attempt) / 1000.0
        self._attempt = min(self._attempt + 1, 30)
        return step * (0.5 + random.random() / 2)
