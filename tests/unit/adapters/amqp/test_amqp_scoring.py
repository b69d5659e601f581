"""BatchScorer: a micro-batch of deliveries -> one scoring call -> one outcome per delivery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from adapters.amqp.disposition import DeadLetter, Reply, Retry
from adapters.amqp.messages import JSON, Delivery, JsonRecords
from adapters.amqp.scoring import BatchScorer, Formats
from adapters.amqp.store import ProcessedStore
from adapters.pipeline import ScoringPipeline
from gateway.errors import ModelNotReady, RuntimeFailure
from gateway.types import InferRequest, InferResponse
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, POISON, classify

FORMATS = Formats({JSON: JsonRecords()}, JsonRecords(), JsonRecords(), (JSON,), max_records=100)


def _delivery(
    mid: str, *records: dict[str, float], previous: int = 0, reply_to: str | None = "replies"
) -> Delivery:
    body = json.dumps(records[0] if len(records) == 1 else list(records)).encode()
    headers = {"x-delivery-count": previous} if previous else {}
    return Delivery(1, 1, body, JSON, None, mid, mid, reply_to, None, headers)


def _row(x: float) -> dict[str, float]:
    return {"mean_radius": x, "mean_texture": 1.0}


@pytest.fixture
def store(tmp_path: Path) -> ProcessedStore:
    return ProcessedStore(tmp_path / "store.sqlite3", ttl_s=3600)


def _scorer(client: FakeInferenceClient, store: ProcessedStore) -> BatchScorer:
    pipeline = ScoringPipeline(client, CLASSIFIER.name, max_batch_rows=8)
    return BatchScorer(pipeline, store, FORMATS, delivery_limit=3, has_fixed_destination=False)


def test_many_messages_are_scored_in_one_pipeline_call_and_split_back_in_order(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    deliveries = [_delivery("a", _row(1)), _delivery("b", _row(2), _row(3)), _delivery("c", _row(4))]
    outcomes = _scorer(classifier_client, store).process(deliveries)
    assert [o.delivery.message_id for o in outcomes] == ["a", "b", "c"]
    assert all(isinstance(o, Reply) and not o.replayed for o in outcomes)
    bodies = [json.loads(o.result.body) for o in outcomes if isinstance(o, Reply)]
    assert bodies[0]["p_benign"] == 2.0 and bodies[0]["message_id"] == "a"
    assert [r["p_benign"] for r in bodies[1]] == [3.0, 4.0] and bodies[1][1]["message_id"] == "b"
    assert sum(len(call.inputs[0].data) for call in classifier_client.calls) == 4  # no row twice
    assert len(classifier_client.calls) == 1


def test_a_message_with_a_rejected_record_is_dead_lettered_and_its_neighbours_answered(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    deliveries = [_delivery("good", _row(1)), _delivery("bad", _row(2), _row(POISON))]
    good, bad = _scorer(classifier_client, store).process(deliveries)
    assert isinstance(good, Reply)
    assert isinstance(bad, DeadLetter) and bad.kind == "poison"
    assert "record 2" in bad.reason and "-999" in bad.reason


def test_a_known_request_id_replays_the_stored_bytes_without_inference(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    scorer = _scorer(classifier_client, store)
    [first] = scorer.process([_delivery("same", _row(1))])
    calls = len(classifier_client.calls)
    [again] = scorer.process([_delivery("same", _row(1))])
    assert isinstance(first, Reply) and isinstance(again, Reply) and again.replayed
    assert again.result.body == first.result.body
    assert len(classifier_client.calls) == calls


def test_repeats_inside_one_batch_are_inferred_once(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    outcomes = _scorer(classifier_client, store).process([_delivery("x", _row(1)), _delivery("x", _row(1))])
    assert [type(o) for o in outcomes] == [Reply, Reply]
    assert outcomes[0].result.body == outcomes[1].result.body  # type: ignore[union-attr]
    assert sum(len(call.inputs[0].data) for call in classifier_client.calls) == 1


def test_a_request_id_reused_for_another_body_is_poison(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    scorer = _scorer(classifier_client, store)
    scorer.process([_delivery("id", _row(1))])
    [outcome] = scorer.process([_delivery("id", _row(2))])
    assert isinstance(outcome, DeadLetter) and "different request body" in outcome.reason


def test_without_reply_to_or_a_reply_exchange_a_request_is_poison(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    [outcome] = _scorer(classifier_client, store).process([_delivery("n", _row(1), reply_to=None)])
    assert isinstance(outcome, DeadLetter) and "reply_to" in outcome.reason


def test_a_transient_batch_failure_retries_all_and_isolates_requests_that_failed_before(
    store: ProcessedStore,
) -> None:
    def loading_while_flaky_present(request: InferRequest) -> InferResponse:
        if (request.inputs[0].data[:, 0] == 9).any():
            raise ModelNotReady("loading")
        return classify(request)

    client = FakeInferenceClient(loading_while_flaky_present, [CLASSIFIER])
    scorer = _scorer(client, store)
    fresh = scorer.process([_delivery("flaky", _row(9)), _delivery("ok", _row(1))])
    assert [type(o) for o in fresh] == [Retry, Retry]  # an outage costs one call, not one per message
    again = scorer.process([_delivery("flaky", _row(9), previous=1), _delivery("ok", _row(1), previous=1)])
    assert [type(o) for o in again] == [Retry, Reply]


def test_a_failure_no_retry_fixes_is_isolated_to_the_message_that_causes_it(store: ProcessedStore) -> None:
    def fails_on_seven(request: InferRequest) -> InferResponse:
        if (request.inputs[0].data[:, 0] == 7).any():
            raise RuntimeFailure("onnxruntime: bad node")
        return classify(request)

    client = FakeInferenceClient(fails_on_seven, [CLASSIFIER])
    outcomes = _scorer(client, store).process([_delivery("a", _row(1)), _delivery("b", _row(7))])
    assert isinstance(outcomes[0], Reply)
    assert isinstance(outcomes[1], DeadLetter) and outcomes[1].kind == "failed"


def test_results_the_store_cannot_keep_are_retried_never_published(
    classifier_client: FakeInferenceClient, store: ProcessedStore
) -> None:
    scorer = _scorer(classifier_client, store)
    store.close()  # every store call now fails
    with pytest.raises(sqlite3.ProgrammingError):
        store.lookup(["x"])
    [outcome] = scorer.process([_delivery("z", _row(1))])
    assert isinstance(outcome, Retry)
