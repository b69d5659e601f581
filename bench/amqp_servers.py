"""The consumers bench/amqp.py measures, each run as its own process (so the result collector in the parent
does not share their interpreter lock).

* ``echo`` -- the baseline: a bare pika ``SelectConnection`` consumer with manual acks and prefetch that
  publishes each request's body unchanged to its ``reply_to`` (persistent, streaming publisher confirms)
  and acks the request only after that publish is confirmed: the same delivery guarantee as Bridgeway,
  without decoding, scoring or lineage.
* ``bridgeway`` -- ``adapters.amqp.AmqpPipeline`` with the in-process client on the example models.

    python bench/amqp_servers.py echo URL QUEUE PREFETCH
    python bench/amqp_servers.py bridgeway URL QUEUE PREFETCH MAX_MESSAGES MAX_WAIT_MS MODELS_DIR STATE_DIR

Each prints ``ready`` once warm (models loaded, connected) and starts consuming when a line arrives on
stdin; it stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pika
import pika.channel
import pika.frame
import pika.spec

# bench/gateway.py would shadow the gateway package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def serve_echo(url: str, queue: str, prefetch: int) -> None:
    pending: dict[int, int] = {}  # publish sequence number -> delivery tag of the request
    state = {"seq": 0}

    def on_confirm(channel: pika.channel.Channel, frame: pika.frame.Method) -> None:
        tag = frame.method.delivery_tag
        done = [s for s in pending if s <= tag] if frame.method.multiple else [tag]
        for seq in done:
            channel.basic_ack(pending.pop(seq))

    def on_message(
        channel: pika.channel.Channel, method: Any, props: pika.BasicProperties, body: bytes
    ) -> None:
        reply = pika.BasicProperties(correlation_id=props.correlation_id, delivery_mode=2)
        channel.basic_publish("", props.reply_to, body, reply, mandatory=True)
        state["seq"] += 1
        pending[state["seq"]] = method.delivery_tag

    def start(channel: pika.channel.Channel) -> None:
        print("ready", flush=True)
        sys.stdin.readline()
        channel.basic_consume(queue, lambda *a: on_message(*a), auto_ack=False)

    def on_channel(channel: pika.channel.Channel) -> None:
        channel.basic_qos(
            prefetch_count=prefetch,
            callback=lambda _f: channel.confirm_delivery(
                lambda frame: on_confirm(channel, frame), callback=lambda _f: start(channel)
            ),
        )

    connection = pika.SelectConnection(
        pika.URLParameters(url), on_open_callback=lambda c: c.channel(on_open_callback=on_channel)
    )
    signal.signal(
        signal.SIGTERM, lambda *_: connection.ioloop.add_callback_threadsafe(connection.ioloop.stop)
    )
    connection.ioloop.start()


def serve_bridgeway(url: str, queue: str, prefetch: int, max_messages: int, max_wait_ms: float, models: str,
                    state_dir: str) -> None:  # fmt: skip
    from adapters.amqp.service import AmqpPipeline
    from adapters.amqp.settings import AmqpPipelineSettings
    from adapters.client.local import LocalInferenceClient

    settings = AmqpPipelineSettings.model_validate(
        {
            "name": "bench",
            "model": "breast-cancer",
            "source": {
                "url": url, "queue": queue, "prefetch": prefetch, "state_dir": state_dir,
                "batch": {"max_messages": max_messages, "max_wait_ms": max_wait_ms},
            },
        }
    )  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalInferenceClient(models) as client:
        pipeline = AmqpPipeline(settings, client, stop, environ={})
        print("ready", flush=True)
        sys.stdin.readline()
        pipeline.run()


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "echo":
        serve_echo(args[0], args[1], int(args[2]))
    else:
        serve_bridgeway(args[0], args[1], int(args[2]), int(args[3]), float(args[4]), args[5], args[6])
