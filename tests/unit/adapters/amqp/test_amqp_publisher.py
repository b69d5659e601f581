"""ConfirmingPublisher: streaming confirms, the confirm window, blocked connections and basic.return."""

from __future__ import annotations

from typing import Any

import pika
import pika.frame
import pika.spec

from adapters.amqp.publisher import Confirm, ConfirmingPublisher, Outgoing


def _message(mid: str, done: list[tuple[str, Confirm]], exchange: str = "", key: str = "q") -> Outgoing:
    return Outgoing(
        exchange, key, mid.encode(), pika.BasicProperties(message_id=mid), lambda c: done.append((mid, c))
    )


def _ack(tag: int, multiple: bool = False) -> pika.frame.Method:
    return pika.frame.Method(1, pika.spec.Basic.Ack(delivery_tag=tag, multiple=multiple))


def _nack(tag: int) -> pika.frame.Method:
    return pika.frame.Method(1, pika.spec.Basic.Nack(delivery_tag=tag))


def _return(channel: Any, mid: str, exchange: str = "", key: str = "q") -> tuple[Any, ...]:
    method = pika.spec.Basic.Return(reply_code=312, reply_text="NO_ROUTE", exchange=exchange, routing_key=key)
    return (channel, method, pika.BasicProperties(message_id=mid), mid.encode())


def test_publishes_are_mandatory_and_stream_without_waiting_for_confirms(channel: Any) -> None:
    done: list[tuple[str, Confirm]] = []
    publisher = ConfirmingPublisher(channel, window=10)
    for i in range(3):
        publisher.publish(_message(f"m{i}", done))
    assert [p[2] for p in channel.published] == [b"m0", b"m1", b"m2"]
    assert all(p[4] is True for p in channel.published)
    assert done == [] and publisher.pending == 3


def test_a_multiple_ack_settles_every_publish_up_to_its_tag_in_order(channel: Any) -> None:
    done: list[tuple[str, Confirm]] = []
    publisher = ConfirmingPublisher(channel, window=10)
    for i in range(4):
        publisher.publish(_message(f"m{i}", done))
    publisher.on_confirm(_ack(3, multiple=True))
    assert done == [("m0", "ok"), ("m1", "ok"), ("m2", "ok")]
    publisher.on_confirm(_nack(4))
    assert done[-1] == ("m3", "nacked") and publisher.pending == 0


def test_no_more_than_the_window_awaits_confirms_and_the_rest_waits_in_order(channel: Any) -> None:
    done: list[tuple[str, Confirm]] = []
    publisher = ConfirmingPublisher(channel, window=2)
    for i in range(5):
        publisher.publish(_message(f"m{i}", done))
    assert len(channel.published) == 2 and publisher.pending == 5 and publisher.room == 0
    publisher.on_confirm(_ack(1))
    assert [p[2] for p in channel.published] == [b"m0", b"m1", b"m2"]
    assert publisher.max_outstanding == 2


def test_nothing_is_written_while_the_connection_is_blocked(channel: Any) -> None:
    done: list[tuple[str, Confirm]] = []
    publisher = ConfirmingPublisher(channel, window=10)
    publisher.set_blocked(True)
    publisher.publish(_message("m0", done))
    assert channel.published == [] and publisher.pending == 1
    publisher.set_blocked(False)
    assert len(channel.published) == 1


def test_a_return_before_the_ack_reports_the_publish_as_returned_and_only_that_one(channel: Any) -> None:
    done: list[tuple[str, Confirm]] = []
    publisher = ConfirmingPublisher(channel, window=10)
    publisher.publish(_message("routed", done, key="a"))
    publisher.publish(_message("lost", done, key="b"))
    publisher.on_return(*_return(channel, "lost", key="b"))
    publisher.on_confirm(_ack(2, multiple=True))
    assert done == [("routed", "ok"), ("lost", "returned")]
    publisher.publish(_message("lost", done, key="b"))  # the same message again, now routable
    publisher.on_confirm(_ack(3))
    assert done[-1] == ("lost", "ok")
