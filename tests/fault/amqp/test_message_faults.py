"""RELIABILITY T5 (unroutable results), T6 (poison message) and T7 (duplicate requests), with the oracle's
counts. Sizes scaled down from the table's N to keep each test to seconds."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from adapters.amqp import messages as m
from gateway.errors import ModelNotReady
from gateway.types import InferRequest
from tests.support.amqp_adapter import (
    Names,
    RunningAdapter,
    classifier_client,
    declare_request_queue,
    pipeline_settings,
    record,
    request_body,
    requests,
)
from tests.support.amqp_client import Oracle, ResultCollector, publish_confirmed, request_properties
from tests.support.broker import Broker
from tests.support.fake_models import POISON

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_t5_unroutable_results_are_detected_parked_and_delivered_once_routable_again(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    exchange, queue = broker.name("results-x"), broker.name("results")
    broker.track(queues=(queue,), exchanges=(exchange,))
    settings = pipeline_settings(
        broker.url, names.requests, tmp_path, reply={"exchange": exchange, "routing_key": "k"}
    )
    batch = [(request_body(i), request_properties(f"u-{i}")) for i in range(150)]
    oracle = Oracle(published={p.message_id for _, p in batch})
    with RunningAdapter(settings, classifier_client()) as adapter:
        broker.declare_queue(queue)
        with broker.channel() as ch:
            ch.queue_bind(queue, exchange, routing_key="k")
        with ResultCollector(broker.url, queue) as results:
            oracle.confirmed |= publish_confirmed(broker.url, names.requests, batch[:50])
            assert results.wait_for(50, timeout_s=30)
            with broker.channel() as ch:
                ch.queue_unbind(queue, exchange, routing_key="k")
            oracle.confirmed |= publish_confirmed(broker.url, names.requests, batch[50:])
            parked = {f"u-{i}" for i in range(50, 150)}
            assert adapter.journal.wait_for("parked", count=100, timeout_s=30) is not None
            assert {f["key"] for _, f in adapter.journal.of("parked")} == parked
            assert results.distinct() == 50  # nothing slipped through while unroutable
            with broker.channel() as ch:
                ch.queue_bind(queue, exchange, routing_key="k")
            assert results.wait_for(150, timeout_s=30)
            assert adapter.journal.wait_for("unparked", count=100, timeout_s=10) is not None
    first: dict[str, dict[str, float]] = defaultdict(dict)
    for t, name, fields in adapter.journal.events:
        if name in ("returned", "parked", "request_acked"):
            first[fields["key"]].setdefault(name, t)
    assert all(first[k]["returned"] <= first[k]["parked"] <= first[k]["request_acked"] for k in parked)
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.lost == 0 and counts.unexpected == 0 and counts.dup_consistent
    assert counts.duplicates <= len(parked)


@pytest.mark.parametrize("transient", [False, True], ids=["deterministic", "transient"])
def test_t6_a_poison_record_is_dead_lettered_with_its_reason_and_the_others_are_processed(
    broker: Broker, names: Names, tmp_path: Path, transient: bool
) -> None:
    n, poison_at = 500, 250

    def loading_on_poison(request: InferRequest) -> None:
        if transient and np.isclose(request.inputs[0].data[:, 0], POISON).any():
            raise ModelNotReady("model 'classifier' is loading")

    settings = pipeline_settings(broker.url, names.requests, tmp_path)  # delivery limit 3
    declare_request_queue(broker.url, settings)
    batch = requests(names, n, prefix="p")
    batch[poison_at] = (json.dumps({**record(0), "mean_radius": POISON}).encode(), batch[poison_at][1])
    oracle = Oracle(published={p.message_id for _, p in batch})
    oracle.confirmed = publish_confirmed(broker.url, names.requests, batch)
    with ResultCollector(broker.url, names.replies) as results:
        with RunningAdapter(settings, classifier_client(before=loading_on_poison)) as adapter:
            assert results.wait_for(n - 1, timeout_s=60)
            assert adapter.journal.wait_for("dead_lettered", timeout_s=30) is not None
    [(_, props, body)] = broker.get_all(names.dead_letters)
    assert props.message_id == f"p-{poison_at}" and body == batch[poison_at][0]
    deliveries = [f["key"] for _, f in adapter.journal.of("received")].count(f"p-{poison_at}")
    if transient:
        assert deliveries == settings.source.delivery_limit + 1 == 4
        assert props.headers[m.HEADER_ERROR_KIND] == "retries-exhausted"
        assert "ModelNotReady" in props.headers[m.HEADER_ERROR]
    else:
        assert deliveries == 1
        assert props.headers[m.HEADER_ERROR_KIND] == "poison"
        assert "-999" in props.headers[m.HEADER_ERROR] and "record 1" in props.headers[m.HEADER_ERROR]
    oracle.confirmed.discard(f"p-{poison_at}")  # accounted for by its dead letter, checked above
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.results == n - 1 and counts.lost == 0
    assert counts.unexpected == 0 and counts.duplicates == 0


def test_t7_duplicate_requests_are_inferred_once_and_answered_with_identical_bytes(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    n, pairs = 500, 25
    settings = pipeline_settings(broker.url, names.requests, tmp_path)
    declare_request_queue(broker.url, settings)
    batch = requests(names, n, prefix="d")
    repeats = [batch[i] for i in range(0, n, n // pairs)]  # every 20th request, published again at the end
    batch = batch[:100] + repeats[:5] + batch[100:] + repeats[5:]  # some repeats close by, some far
    oracle = Oracle(published={p.message_id for _, p in batch})
    oracle.confirmed = publish_confirmed(broker.url, names.requests, batch)
    with ResultCollector(broker.url, names.replies) as results:
        with RunningAdapter(settings, classifier_client()) as adapter:
            assert adapter.journal.wait_for("request_acked", count=n + pairs, timeout_s=60) is not None
            assert results.wait_for(n, timeout_s=30)
            assert adapter.rows_inferred == n  # exactly once per id
        assert results.wait_for_total(n + pairs, timeout_s=30)
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.lost == 0 and counts.unexpected == 0
    assert counts.duplicates <= pairs and counts.dup_consistent
    per_id = defaultdict(int)
    for result in results.snapshot():
        per_id[result.correlation_id] += 1
    assert max(per_id.values()) <= 2
