"""Publishing with streaming publisher confirms, mandatory routing and a bounded confirm window.

Why not ``BlockingChannel.confirm_delivery()``: it waits for each confirm before the next publish, which
caps throughput near 1,000 msg/s (RELIABILITY fact 5). Here publishes go out back to back; the broker's
``basic.ack``/``basic.nack`` (possibly ``multiple``) settle them later, each through its own ``on_done``.

Unroutable messages: every publish is ``mandatory``. For a message no queue takes, RabbitMQ sends
``basic.return`` *before* the ``basic.ack`` of that publish, so a return is remembered by the message's
(exchange, routing key, message id) and the next confirm of a publish with that identity reports
``"returned"`` instead of ``"ok"``.

Flow control: at most ``window`` publishes await a confirm, and nothing is written while the broker has the
connection ``blocked`` (a memory or disk alarm). The rest waits in order in a local queue, which prefetch
bounds (one result per unacked request). Used only on the connection's I/O thread.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pika
import pika.channel
import pika.frame
import pika.spec

__all__ = ["Confirm", "ConfirmingPublisher", "Outgoing"]

log = logging.getLogger(__name__)

Confirm = Literal["ok", "returned", "nacked"]
_Identity = tuple[str, str, str | None]


@dataclass(slots=True)
class Outgoing:
    """One message to publish; ``on_done`` gets how the broker settled it."""

    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties
    on_done: Callable[[Confirm], None]

    @property
    def identity(self) -> _Identity:
        return (self.exchange, self.routing_key, self.properties.message_id)


class ConfirmingPublisher:
    """Streaming confirms on one channel (in confirm mode). Create one per channel; drop it with the channel:
    publishes it had not settled are requeued by the broker as their requests' redeliveries."""

    def __init__(self, channel: pika.channel.Channel, window: int) -> None:
        self._channel = channel
        self._window = window
        self._next_seq = 1
        self._outstanding: dict[int, Outgoing] = {}
        self._waiting: deque[Outgoing] = deque()
        self._returned: Counter[_Identity] = Counter()
        self.blocked = False
        self.max_outstanding = 0  # high-water mark, for tests and metrics

    @property
    def pending(self) -> int:
        """Messages not yet confirmed: sent and awaiting a confirm, plus waiting to be sent."""
        return len(self._outstanding) + len(self._waiting)

    @property
    def room(self) -> int:
        """How many more messages fit in the window right now."""
        return max(0, self._window - self.pending)

    def publish(self, item: Outgoing) -> None:
        self._waiting.append(item)
        self._send()

    def set_blocked(self, blocked: bool) -> None:
        self.blocked = blocked
        if not blocked:
            self._send()

    def on_confirm(self, frame: pika.frame.Method) -> None:
        """``confirm_delivery`` callback: settle the publish(es) a Basic.Ack / Basic.Nack covers."""
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tag, multiple = method.delivery_tag, method.multiple
        if multiple:
            seqs = []
            for seq in self._outstanding:  # insertion order is sequence order
                if seq > tag:
                    break
                seqs.append(seq)
        else:
            seqs = [tag] if tag in self._outstanding else []
        for seq in seqs:
            self._settle(self._outstanding.pop(seq), acked)
        self._send()

    def on_return(
        self,
        channel: pika.channel.Channel,
        method: pika.spec.Basic.Return,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        """``add_on_return_callback`` callback: remember the return until its publish is confirmed."""
        self._returned[(method.exchange, method.routing_key, properties.message_id)] += 1
        log.warning(
            "amqp: result %s returned as unroutable by exchange %r, routing key %r: %s %s",
            properties.message_id,
            method.exchange,
            method.routing_key,
            method.reply_code,
            method.reply_text,
        )

    def _settle(self, item: Outgoing, acked: bool) -> None:
        identity = item.identity
        if self._returned[identity] > 0:
            self._returned[identity] -= 1
            if not self._returned[identity]:
                del self._returned[identity]
            item.on_done("returned")
        else:
            item.on_done("ok" if acked else "nacked")

    def _send(self) -> None:
        while self._waiting and not self.blocked and len(self._outstanding) < self._window:
            if not self._channel.is_open:
                return
            item = self._waiting.popleft()
            self._channel.basic_publish(
                item.exchange, item.routing_key, item.body, item.properties, mandatory=True
            )
            self._outstanding[self._next_seq] = item
            self._next_seq += 1
        self.max_outstanding = max(self.max_outstanding, len(self._outstanding))
