"""The AMQP pipeline end to end against a real RabbitMQ: requests in, results out, dead letters, retries."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pika
import pika.exceptions
import pytest

from adapters.amqp import messages as m
from adapters.amqp.topology import request_queue_arguments
from gateway.errors import ModelNotReady
from gateway.types import InferRequest
from tests.support.amqp_adapter import (
    Names,
    RunningAdapter,
    classifier_client,
    pipeline_settings,
    record,
    request_body,
)
from tests.support.amqp_client import ResultCollector, publish_confirmed, request_properties
from tests.support.broker import Broker
from tests.support.fake_models import SHA

pytestmark = pytest.mark.integration


def _publish(broker: Broker, names: Names, bodies: list[tuple[str, bytes]], **props: object) -> set[str]:
    messages = [(body, request_properties(rid, reply_to=names.replies, **props)) for rid, body in bodies]  # type: ignore[arg-type]
    return publish_confirmed(broker.url, names.requests, messages)


def test_a_json_record_is_answered_on_reply_to_with_correlation_id_headers_and_lineage(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()), ResultCollector(broker.url, names.replies) as results:
        user = urlparse(broker.url).username or "guest"
        assert _publish(broker, names, [("req-7", request_body(7))], user_id=user) == {"req-7"}
        assert results.wait_for(1, timeout_s=30)
    [result] = results.snapshot()
    assert result.correlation_id == "req-7"
    assert result.properties.content_type == "application/json"
    assert result.properties.delivery_mode == 2
    assert result.properties.headers[m.HEADER_MODEL] == "classifier"
    assert result.properties.headers[m.HEADER_MODEL_VERSION] == "1"
    assert result.properties.headers[m.HEADER_MODEL_SHA256] == SHA
    assert result.properties.headers[m.HEADER_REQUEST_MESSAGE_ID] == "req-7"
    assert result.properties.headers[m.HEADER_CALLER] == user
    body = json.loads(result.body)
    assert body["p_benign"] == pytest.approx(0.507, abs=1e-6)
    assert body["label"] == 0
    assert (body["model_name"], body["model_version"], body["model_sha256"]) == ("classifier", "1", SHA)
    assert (body["message_id"], body["correlation_id"]) == ("req-7", "req-7")
    assert body["run_id"] and body["processed_at"].endswith("Z")


def test_a_list_of_records_is_answered_with_a_list_in_the_same_order(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    records = [record(900), record(1), {**record(600), "mean_texture": 0.9}]
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()), ResultCollector(broker.url, names.replies) as results:
        _publish(broker, names, [("list-1", json.dumps(records).encode())])
        assert results.wait_for(1, timeout_s=30)
    [result] = results.snapshot()
    rows = json.loads(result.body)
    assert [row["p_benign"] for row in rows] == pytest.approx([1.4, 0.501, 1.5], abs=1e-6)
    assert [row["label"] for row in rows] == [1, 0, 1]
    assert all(row["message_id"] == "list-1" for row in rows)
    assert result.properties.headers[m.HEADER_RECORDS] == 3


def test_results_go_to_the_configured_exchange_and_routing_key_without_reply_to(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    exchange, queue = broker.name("results-x"), broker.name("results")
    broker.track(queues=(queue,), exchanges=(exchange,))
    reply = {"exchange": exchange, "routing_key": "scored"}
    settings = pipeline_settings(broker.url, names.requests, tmp_path, reply=reply)
    with RunningAdapter(settings, classifier_client()):
        broker.declare_queue(queue)
        with broker.channel() as ch:
            ch.queue_bind(queue, exchange, routing_key="scored")
        with ResultCollector(broker.url, queue) as results:
            messages = [(request_body(i), request_properties(f"x-{i}")) for i in range(20)]
            assert len(publish_confirmed(broker.url, names.requests, messages)) == 20
            assert results.wait_for(20, timeout_s=30)
    assert {r.correlation_id for r in results.snapshot()} == {f"x-{i}" for i in range(20)}


def test_poison_messages_are_dead_lettered_on_their_first_delivery_with_the_reason_in_a_header(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    poison = {
        "not-json": (b"{not json", "application/json"),
        "pickle": (b"\x80\x04K\x01.", "application/x-python-pickle"),
        "missing-field": (json.dumps({"mean_radius": 1.0}).encode(), "application/json"),
        "not-records": (json.dumps(["a"]).encode(), "application/json"),
        "no-reply-to": (request_body(3), "application/json"),
    }
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()) as adapter:
        with ResultCollector(broker.url, names.replies) as results:
            good = [(request_body(1), request_properties("good-1", reply_to=names.replies))]
            bad = [
                (body, request_properties(rid, reply_to=None if rid == "no-reply-to" else names.replies,
                                          content_type=ctype))
                for rid, (body, ctype) in poison.items()
            ]  # fmt: skip
            publish_confirmed(broker.url, names.requests, [*bad, *good])
            assert results.wait_for(1, timeout_s=30)
            assert adapter.journal.wait_for("dead_lettered", count=len(poison), timeout_s=30)
    dead = {props.message_id: (method, props) for method, props, _ in broker.get_all(names.dead_letters)}
    assert set(dead) == set(poison)
    reasons = {rid: props.headers[m.HEADER_ERROR] for rid, (_, props) in dead.items()}
    assert "not JSON" in reasons["not-json"]
    assert "application/x-python-pickle" in reasons["pickle"] and "not accepted" in reasons["pickle"]
    assert "mean_texture" in reasons["missing-field"] and "missing" in reasons["missing-field"]
    assert "record 1 of the list is a string" in reasons["not-records"]
    assert "reply_to" in reasons["no-reply-to"]
    for _, props in dead.values():
        assert props.headers[m.HEADER_ERROR_KIND] == "poison"
        assert props.headers[m.HEADER_DELIVERIES] == 1
        assert props.headers[m.HEADER_SOURCE_QUEUE] == names.requests
    received = [f["key"] for _, f in adapter.journal.of("received")]
    assert all(received.count(rid) == 1 for rid in poison)
    assert [r.correlation_id for r in results.snapshot()] == ["good-1"]


def test_a_transient_failure_is_retried_and_dead_lettered_after_delivery_limit_plus_one_deliveries(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    def refuse_999(request: InferRequest) -> None:
        if np.isclose(request.inputs[0].data[:, 0], 0.999).any():
            raise ModelNotReady("model 'classifier' is loading")

    settings = pipeline_settings(broker.url, names.requests, tmp_path)  # delivery limit 3
    with RunningAdapter(settings, classifier_client(before=refuse_999)) as adapter:
        with ResultCollector(broker.url, names.replies) as results:
            _publish(broker, names, [("flaky", request_body(999)), ("fine", request_body(5))])
            assert results.wait_for(1, timeout_s=30)
            assert adapter.journal.wait_for("dead_lettered", timeout_s=30)
    [(_, props, _)] = broker.get_all(names.dead_letters)
    assert props.message_id == "flaky"
    assert props.headers[m.HEADER_ERROR_KIND] == "retries-exhausted"
    assert (
        "ModelNotReady" in props.headers[m.HEADER_ERROR] and "4 deliveries" in props.headers[m.HEADER_ERROR]
    )
    received = [f["key"] for _, f in adapter.journal.of("received")]
    assert received.count("flaky") == 4
    assert [r.correlation_id for r in results.snapshot()] == ["fine"]


def test_a_repeated_request_gets_byte_identical_replies_and_is_inferred_once(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()) as adapter:
        with ResultCollector(broker.url, names.replies) as results:
            burst = [(f"r-{i}", request_body(i)) for i in range(10)]
            _publish(broker, names, burst + burst[:5])  # repeats within a burst
            assert results.wait_for(10, timeout_s=30)
            _publish(broker, names, burst[5:])  # repeats long after the first result
            assert adapter.journal.wait_for("request_acked", count=20, timeout_s=30)
    replies: dict[str, set[bytes]] = {}
    for result in results.snapshot():
        replies.setdefault(result.correlation_id, set()).add(result.body)
    assert len(results.snapshot()) == 20
    assert all(len(bodies) == 1 for bodies in replies.values())
    assert adapter.rows_inferred == 10


def test_a_reused_request_id_with_another_body_is_dead_lettered(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()) as adapter:
        with ResultCollector(broker.url, names.replies) as results:
            _publish(broker, names, [("same-id", request_body(1))])
            assert results.wait_for(1, timeout_s=30)
            _publish(broker, names, [("same-id", request_body(2))])
            assert adapter.journal.wait_for("dead_lettered", timeout_s=30)
    [(_, props, body)] = broker.get_all(names.dead_letters)
    assert body == request_body(2)
    assert "already used for a different request body" in props.headers[m.HEADER_ERROR]


def test_the_request_queue_is_declared_with_every_argument_explicit(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    with RunningAdapter(settings, classifier_client()):
        pass
    arguments = request_queue_arguments(settings.source)
    assert arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 3,
        "x-dead-letter-exchange": names.dlx,
        "x-dead-letter-routing-key": names.dead_letters,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    with broker.channel() as ch:  # the broker accepts the same arguments again...
        ch.queue_declare(names.requests, durable=True, arguments=arguments)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused, broker.channel() as ch:
        ch.queue_declare(names.requests, durable=True, arguments={**arguments, "x-delivery-limit": 4})
    assert refused.value.reply_code == 406  # ...and refuses others: they really are the queue's arguments


def test_stopping_settles_every_delivery_so_each_request_is_answered_or_still_queued(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    settings = pipeline_settings(
        broker.url, names.requests, tmp_path, batch={"max_messages": 4, "max_wait_ms": 1}
    )
    with ResultCollector(broker.url, names.replies) as results:
        with RunningAdapter(settings, classifier_client(delay_s=0.02)) as adapter:
            _publish(broker, names, [(f"s-{i}", request_body(i)) for i in range(300)])
            assert results.wait_for(20, timeout_s=30)
        answered = {r.correlation_id for r in results.snapshot()}
        received = {f["key"] for _, f in adapter.journal.of("received")}
        acked = {f["key"] for _, f in adapter.journal.of("request_acked")}
        requeued = {f["key"] for _, f in adapter.journal.of("requeued")}
    left = {props.message_id for _, props, _ in broker.get_all(names.requests)}
    assert received == acked | requeued  # every delivery settled before the connection closed
    assert acked <= answered
    assert answered | left == {f"s-{i}" for i in range(300)}
    assert not answered & left
