"""The AMQP consumer: a small state machine around one channel at a time (STYLE P12).

Threads: the connection's I/O thread runs pika (heartbeats, deliveries, confirms, acks) and never scores;
one worker thread takes micro-batches from a :class:`MicroBatcher`, scores them with the
:class:`BatchScorer` and posts the outcomes back with ``add_callback_threadsafe``. Prefetch (``basic.qos``)
bounds the deliveries in flight, and so the batcher, the publisher's queue and memory.

States: connecting -> declaring -> consuming -> (stopping -> drained -> closed); a lost channel at any point
goes back to connecting (the reconnect wrapper). Stopping (the stop event, e.g. on SIGTERM) cancels the
consumer, lets the worker finish what was delivered, publishes and settles every delivery, then closes;
after ``drain_timeout_s`` it closes anyway and the broker requeues whatever is left.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import pika
import pika.channel
import pika.spec

from adapters.amqp.batching import MicroBatcher
from adapters.amqp.connection import ReconnectingConnection
from adapters.amqp.disposition import Outcome
from adapters.amqp.events import EventSink
from adapters.amqp.messages import Delivery
from adapters.amqp.publisher import ConfirmingPublisher
from adapters.amqp.scoring import BatchScorer
from adapters.amqp.settings import AmqpPipelineSettings
from adapters.amqp.settle import Settler
from adapters.amqp.store import ProcessedStore
from adapters.amqp.topology import declare_topology

__all__ = ["AmqpConsumer"]

log = logging.getLogger(__name__)


class AmqpConsumer:
    """Consumes one pipeline's request queue until stopped (see the module docstring)."""

    def __init__(
        self,
        settings: AmqpPipelineSettings,
        scorer: BatchScorer,
        store: ProcessedStore,
        parameters: pika.ConnectionParameters,
        stop: threading.Event,
        events: EventSink,
    ) -> None:
        self._settings, self._source = settings, settings.source
        self._scorer, self._store, self._stop, self._events = scorer, store, stop, events
        batch = self._source.batch
        self._batcher: MicroBatcher[Delivery] = MicroBatcher(batch.max_messages, batch.max_wait_ms / 1000)
        self._connection = ReconnectingConnection(parameters, self, self._source.reconnect, stop, events)
        self._channel: pika.channel.Channel | None = None
        self._publisher: ConfirmingPublisher | None = None
        self._settler: Settler | None = None
        self._generation = 0
        self._unsettled = 0
        self._consumer_tag: str | None = None
        self._drain_deadline: float | None = None
        self._next_park_retry = 0.0
        self._max_outstanding = 0

    @property
    def max_outstanding_confirms(self) -> int:
        """The most results that ever awaited a confirm at once (bounded by ``confirm_window``)."""
        current = self._publisher.max_outstanding if self._publisher else 0
        return max(current, self._max_outstanding)

    def run(self) -> None:
        """Serve until the stop event is set and every delivery is settled. Raises TopologyError."""
        worker = threading.Thread(
            target=self._work, name=f"bridgeway-amqp-{self._settings.name}", daemon=True
        )
        worker.start()
        try:
            self._connection.run()
        finally:
            self._batcher.close()
            worker.join(timeout=max(self._source.drain_timeout_s, 1.0))

    # -- Session (I/O thread) -------------------------------------------------------------------------
    def on_ready(
        self, connection: pika.SelectConnection, channel: pika.channel.Channel, generation: int
    ) -> None:
        self._channel, self._generation, self._unsettled = channel, generation, 0
        self._publisher = publisher = ConfirmingPublisher(channel, self._source.confirm_window)
        self._settler = Settler(
            channel, publisher, self._store, self._source, self._connection.call_later, self._events,
            self._settled,
        )  # fmt: skip
        channel.add_on_return_callback(publisher.on_return)
        channel.add_on_cancel_callback(lambda _frame: channel.close())  # queue deleted: start over
        declare_topology(channel, self._source, lambda: self._qos(channel))

    def _qos(self, channel: pika.channel.Channel) -> None:
        assert self._settler is not None
        on_confirm = self._settler.on_confirm
        channel.basic_qos(
            prefetch_count=self._source.prefetch,
            callback=lambda _f: channel.confirm_delivery(
                on_confirm, callback=lambda _f: self._consume(channel)
            ),
        )

    def _consume(self, channel: pika.channel.Channel) -> None:
        if self._stop.is_set():
            self._connection.finish()
            return
        self._consumer_tag = channel.basic_consume(self._source.queue, self._on_message, auto_ack=False)
        self._connection.healthy()
        log.info("amqp: consuming %s (prefetch %d)", self._source.queue, self._source.prefetch)
        self._events("consuming", {"queue": self._source.queue})

    def _on_message(
        self,
        channel: pika.channel.Channel,
        method: pika.spec.Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        delivery = Delivery(
            method.delivery_tag, self._generation, body, properties.content_type, properties.content_encoding,
            properties.message_id, properties.correlation_id, properties.reply_to, properties.user_id,
            properties.headers or {}, bool(method.redelivered),
        )  # fmt: skip
        self._unsettled += 1
        assert self._settler is not None
        self._settler.delivered(delivery.tag)
        self._events("received", {"key": delivery.key, "redelivered": delivery.redelivered})
        self._batcher.put(delivery)

    def on_lost(self, reason: BaseException) -> None:
        if self._channel is None:
            return
        self._max_outstanding = self.max_outstanding_confirms
        self._channel = self._publisher = self._settler = None
        self._consumer_tag, self._unsettled = None, 0
        stale = self._batcher.drain()  # the broker requeues them; they come back on the next channel
        log.info("amqp: channel lost; %d queued deliveries will be redelivered", len(stale))

    def on_blocked(self, blocked: bool) -> None:
        if self._publisher is not None:
            self._publisher.set_blocked(blocked)

    def on_tick(self) -> None:
        if self._stop.is_set():
            self._stopping()
            return
        now = time.monotonic()
        if self._settler is not None and now >= self._next_park_retry:
            self._next_park_retry = now + self._source.park_retry_s
            self._settler.republish_parked()

    def _stopping(self) -> None:
        if self._drain_deadline is None:
            self._drain_deadline = time.monotonic() + self._source.drain_timeout_s
            log.info("amqp: stopping: no new deliveries; settling %d in flight", self._unsettled)
            if self._channel is not None and self._consumer_tag is not None:
                self._channel.basic_cancel(self._consumer_tag)
        drained = self._unsettled == 0 and not len(self._batcher)
        if drained or time.monotonic() >= self._drain_deadline:
            if not drained:
                log.warning("amqp: drain timed out; %d deliveries go back to the queue", self._unsettled)
            self._connection.finish()

    def _settled(self) -> None:
        self._unsettled -= 1

    def _deliver(self, outcomes: list[Outcome]) -> None:
        settler = self._settler
        for outcome in outcomes:
            if settler is None or outcome.delivery.generation != self._generation:
                return  # delivered on a channel that is gone: it is redelivered on the current one
            settler.settle(outcome)

    # -- worker thread ----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            batch = self._batcher.next_batch(idle_timeout_s=0.5)
            if not batch:
                if self._batcher.closed:
                    return
                continue
            current = [d for d in batch if d.generation == self._generation]
            if current:
                outcomes = self._scorer.process(current)
                self._connection.post(functools.partial(self._deliver, outcomes))
