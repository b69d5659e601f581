"""Carrying outcomes out on one channel: publish first, then settle the request (I/O thread only).

* ``Reply``: publish the result (persistent, mandatory, confirmed) to the configured exchange or to the
  request's ``reply_to``; on the confirm, ack the request. A returned (unroutable) result is parked in the
  processed-id store first — durably — and then the request is acked; parked results are re-published every
  ``park_retry_s`` until one is routed. A nacked publish is re-sent after ``retry_delay_ms``.
* ``DeadLetter``: AMQP's reject carries no headers, so the adapter publishes the request itself to the
  dead-letter exchange with ``x-bridgeway-error`` (the reason), ``x-bridgeway-error-kind`` and the source
  queue, waits for the confirm, then acks. If even that cannot be routed, the request is rejected without
  requeue, so the queue's own dead-letter policy takes it.
* ``Retry``: nack with requeue after ``retry_delay_ms``.

A channel that closes takes its pending work with it: the broker requeues every unacked request, and the
processed-id store makes the redelivery publish the same bytes again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pika
import pika.channel
import pika.frame

from adapters.amqp import messages as m
from adapters.amqp.acks import AckCoalescer
from adapters.amqp.disposition import DeadLetter, Outcome, Reply, Retry
from adapters.amqp.events import EventSink
from adapters.amqp.publisher import Confirm, ConfirmingPublisher, Outgoing
from adapters.amqp.settings import AmqpSourceSettings
from adapters.amqp.store import ParkedResult, ProcessedStore, StoredResult

__all__ = ["Settler"]

log = logging.getLogger(__name__)

Later = Callable[[float, Callable[[], None]], None]


class Settler:
    """Executes outcomes for the deliveries of ``channel``; ``on_settled`` runs once per settled delivery."""

    def __init__(
        self,
        channel: pika.channel.Channel,
        publisher: ConfirmingPublisher,
        store: ProcessedStore,
        source: AmqpSourceSettings,
        later: Later,
        events: EventSink,
        on_settled: Callable[[], None],
    ) -> None:
        self._channel = channel
        self._publisher = publisher
        self._store = store
        self._source = source
        self._later = later
        self._events = events
        self._on_settled = on_settled
        self._parked_in_flight: set[str] = set()
        # The ``settled`` event of each delivery whose ack is pending, by key, emitted once the ack is sent.
        self._settled: dict[str, list[dict[str, object]]] = {}
        self._acks = AckCoalescer(
            lambda tag, multiple: channel.basic_ack(tag, multiple=multiple), self._acked
        )

    def delivered(self, tag: int) -> None:
        """A delivery arrived on this channel (acks are coalesced in delivery order)."""
        self._acks.delivered(tag)

    def on_confirm(self, frame: pika.frame.Method) -> None:
        """``confirm_delivery`` callback: settle the confirmed publishes, then ack what they made safe."""
        self._publisher.on_confirm(frame)
        self._acks.flush()

    def flush_acks(self) -> None:
        if self._channel.is_open:
            self._acks.flush()

    def settle(self, outcome: Outcome) -> None:
        if isinstance(outcome, Reply):
            self._reply(outcome)
        elif isinstance(outcome, DeadLetter):
            self._dead_letter(outcome)
        else:
            self._retry(outcome)

    def republish_parked(self) -> None:
        """Try the parked (unroutable) results again, as many as the confirm window has room for."""
        if self._publisher.blocked or not self._channel.is_open:
            return
        for parked in self._store.parked(self._publisher.room, exclude=self._parked_in_flight):
            self._parked_in_flight.add(parked.result.key)
            self._publisher.publish(self._parked_message(parked))

    def _reply(self, outcome: Reply) -> None:
        delivery, result = outcome.delivery, outcome.result
        if outcome.replayed:
            self._events("replayed", {"key": result.key})
        exchange, routing_key = self._destination(outcome)

        def done(confirm: Confirm) -> None:
            if confirm == "nacked":
                log.warning("amqp: broker nacked result %s; re-sending", result.key)
                self._later(self._source.retry_delay_ms / 1000, lambda: self._publisher.publish(message))
                return
            if confirm == "returned":
                self._events("returned", {"key": result.key})
                self._store.park(result.key, exchange, routing_key, delivery.reply_correlation_id)
                self._events("parked", {"key": result.key})
            else:
                self._events("result_confirmed", {"key": result.key})
            outcome = "PARKED" if confirm == "returned" else "OK"
            self._ack(delivery.tag, result.key, _settled(delivery, outcome, result.headers))

        properties = _result_properties(result, delivery.reply_correlation_id)
        message = Outgoing(exchange, routing_key, result.body, properties, done)
        self._publisher.publish(message)

    def _destination(self, outcome: Reply) -> tuple[str, str]:
        reply = self._source.reply
        if reply is not None:
            return reply.exchange, reply.routing_key
        return "", outcome.delivery.reply_to or ""

    def _parked_message(self, parked: ParkedResult) -> Outgoing:
        key = parked.result.key

        def done(confirm: Confirm) -> None:
            self._parked_in_flight.discard(key)
            if confirm == "ok":
                self._store.unpark(key)
                self._events("unparked", {"key": key})

        properties = _result_properties(parked.result, parked.correlation_id)
        return Outgoing(parked.exchange, parked.routing_key, parked.result.body, properties, done)

    def _dead_letter(self, outcome: DeadLetter) -> None:
        delivery = outcome.delivery
        key = delivery.key or ""
        # The reason may quote a record value, so it travels in the dead letter's header, never in the log.
        log.info("amqp: dead-lettering request %s (%s)", key, outcome.kind)
        headers = dict(delivery.headers)
        headers.update(
            {
                m.HEADER_ERROR: outcome.reason,
                m.HEADER_ERROR_KIND: outcome.kind,
                m.HEADER_SOURCE_QUEUE: self._source.queue,
                m.HEADER_DELIVERIES: delivery.previous_deliveries + 1,
            }
        )

        def done(confirm: Confirm) -> None:
            if confirm == "ok":
                self._events("dead_lettered", {"key": key, "kind": outcome.kind, "reason": outcome.reason})
                self._ack(delivery.tag, key, _settled(delivery, f"DEAD_LETTERED:{outcome.kind}", {}))
                return
            log.error("amqp: dead-letter exchange refused request %s (%s); rejecting it", key, confirm)
            self._events("dead_lettered", {"key": key, "kind": outcome.kind, "reason": outcome.reason})
            self._settle_with(delivery.tag, lambda: self._channel.basic_reject(delivery.tag, requeue=False))

        properties = pika.BasicProperties(
            content_type=delivery.content_type,
            content_encoding=delivery.content_encoding,
            message_id=delivery.message_id,
            correlation_id=delivery.correlation_id,
            reply_to=delivery.reply_to,
            delivery_mode=2,
            headers=headers,
        )
        exchange, routing_key = self._source.dead_letters
        message = Outgoing(exchange, routing_key, delivery.body, properties, done)
        self._publisher.publish(message)

    def _retry(self, outcome: Retry) -> None:
        delivery = outcome.delivery
        key = delivery.key or ""

        def nack() -> None:
            self._events("requeued", {"key": key, "reason": outcome.reason})
            self._settle_with(delivery.tag, lambda: self._channel.basic_nack(delivery.tag, requeue=True))

        self._later(self._source.retry_delay_ms / 1000, nack)

    def _ack(self, tag: int, key: str, settled: dict[str, object] | None = None) -> None:
        if self._channel.is_open:  # else the broker requeues it; the redelivery is settled on the new channel
            if settled is not None:
                self._settled.setdefault(key, []).append(settled)
            self._acks.ready(tag, key)

    def _acked(self, key: str) -> None:
        self._events("request_acked", {"key": key})
        pending = self._settled.get(key)
        if pending:
            self._events("settled", pending.pop(0))
            if not pending:
                del self._settled[key]
        self._on_settled()

    def _settle_with(self, tag: int, action: Callable[[], None]) -> None:
        if not self._channel.is_open:
            return
        action()
        self._acks.settled_otherwise(tag)
        self._on_settled()


def _settled(delivery: m.Delivery, outcome: str, headers: Mapping[str, object]) -> dict[str, object]:
    """The ``settled`` event: what an audit trail records for a finished request (never its body)."""
    return {
        "key": delivery.key or "",
        "outcome": outcome,
        "message_id": delivery.message_id,
        "correlation_id": delivery.correlation_id,
        "user_id": delivery.user_id,
        "body_sha256": delivery.body_sha256,
        "model": headers.get(m.HEADER_MODEL),
        "model_version": headers.get(m.HEADER_MODEL_VERSION),
        "model_sha256": headers.get(m.HEADER_MODEL_SHA256),
    }


def _result_properties(result: StoredResult, correlation_id: str | None) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type=result.content_type,
        delivery_mode=2,
        correlation_id=correlation_id,
        message_id=f"{result.key}:result",
        headers=dict(result.headers),
        app_id="bridgeway",
    )
