"""Declaring the pipeline's queues and exchanges, with every argument explicit.

Declared on every (re)connect when ``topology.declare`` is true (a broker restart may have lost nothing, but
a new broker or a deleted queue is recreated the same way). Re-declaring with other arguments than an
existing queue has is refused by the broker (406 PRECONDITION_FAILED): a configuration error reported once,
never retried in a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika.channel

from adapters.amqp.settings import AmqpSourceSettings

__all__ = ["declare_topology", "request_queue_arguments"]

Step = Callable[[Callable[[Any], None]], None]


def request_queue_arguments(source: AmqpSourceSettings) -> dict[str, Any]:
    """The request queue's arguments: quorum, bounded deliveries, at-least-once dead-lettering."""
    exchange, routing_key = source.dead_letters
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": source.delivery_limit,
        "x-dead-letter-exchange": exchange,
        "x-dead-letter-routing-key": routing_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # required by at-least-once dead-lettering
    }


def declare_topology(
    channel: pika.channel.Channel, source: AmqpSourceSettings, done: Callable[[], None]
) -> None:
    """Declare (asynchronously, in order) what the settings ask for, then call ``done`` on the I/O thread.

    Nothing is declared with ``declare: false``. A refusal closes the channel; the connection wrapper sees
    the close reason and reports it.
    """
    steps: list[Step] = []
    if source.declare:
        dlx, dlq = source.dead_letters
        quorum = {"x-queue-type": "quorum"}
        arguments = request_queue_arguments(source)
        steps += [
            lambda cb: channel.exchange_declare(dlx, "direct", durable=True, callback=cb),
            lambda cb: channel.queue_declare(dlq, durable=True, arguments=quorum, callback=cb),
            lambda cb: channel.queue_bind(dlq, dlx, routing_key=dlq, callback=cb),
            lambda cb: channel.queue_declare(source.queue, durable=True, arguments=arguments, callback=cb),
        ]
        if source.reply is not None and source.reply.exchange:
            exchange = source.reply.exchange
            steps.append(lambda cb: channel.exchange_declare(exchange, "direct", durable=True, callback=cb))
    _run(steps, done)


def _run(steps: list[Step], done: Callable[[], None]) -> None:
    if not steps:
        done()
        return
    first, rest = steps[0], steps[1:]
    first(lambda _frame: _run(rest, done))
