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

from adapters.amqp.settings import AmqpOutputSettings, AmqpSourceSettings

__all__ = ["declare_topology", "request_queue_arguments"]

Step = Callable[[Callable[[Any], None]], None]


def request_queue_arguments(source: AmqpSourceSettings) -> dict[str, Any]:
    """The request queue's arguments: quorum, bounded deliveries, at-least-once dead-lettering."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": source.topology.delivery_limit,
        "x-dead-letter-exchange": source.topology.dead_letter_exchange,
        "x-dead-letter-routing-key": source.dead_letter_routing_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # required by at-least-once dead-lettering
    }


def declare_topology(
    channel: pika.channel.Channel,
    source: AmqpSourceSettings,
    output: AmqpOutputSettings,
    done: Callable[[], None],
) -> None:
    """Declare (asynchronously, in order) what the settings ask for, then call ``done`` on the I/O thread.

    A refusal closes the channel; the connection wrapper sees the close reason and reports it.
    """
    steps: list[Step] = []
    if source.topology.declare:
        dlx, dlq = source.topology.dead_letter_exchange, source.dead_letter_queue
        steps += [
            lambda cb: channel.exchange_declare(dlx, "direct", durable=True, callback=cb),
            lambda cb: channel.queue_declare(
                dlq, durable=True, arguments={"x-queue-type": "quorum"}, callback=cb
            ),
            lambda cb: channel.queue_bind(dlq, dlx, routing_key=source.dead_letter_routing_key, callback=cb),
            lambda cb: channel.queue_declare(
                source.queue, durable=True, arguments=request_queue_arguments(source), callback=cb
            ),
        ]
    if output.declare_exchange and output.exchange:
        exchange = output.exchange
        steps.append(lambda cb: channel.exchange_declare(exchange, "direct", durable=True, callback=cb))
    _run(steps, done)


def _run(steps: list[Step], done: Callable[[], None]) -> None:
    if not steps:
        done()
        return
    first, rest = steps[0], steps[1:]
    first(lambda _frame: _run(rest, done))
