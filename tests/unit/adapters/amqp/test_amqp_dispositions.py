"""The AMQP disposition table (STYLE §5.4): dead-letter what no retry fixes, retry the rest, boundedly."""

from __future__ import annotations

import inspect

import pytest

import gateway.errors as errors
from adapters.amqp.disposition import DeadLetter, Retry, disposition_of, for_error
from adapters.amqp.errors import BrokerUnavailable, PoisonMessage
from adapters.amqp.messages import Delivery
from adapters.mapping import MappingConfigError

GATEWAY_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.BridgewayError) and cls is not errors.BridgewayError
]


def _delivery(previous: int = 0) -> Delivery:
    headers = {"x-delivery-count": previous} if previous else {}
    return Delivery(tag=1, generation=1, body=b"{}", message_id="m-1", headers=headers)


@pytest.mark.parametrize("cls", GATEWAY_ERRORS, ids=lambda c: c.__name__)
def test_every_gateway_error_is_retried_exactly_when_it_is_retryable(
    cls: type[errors.BridgewayError],
) -> None:
    expected = "retry" if cls.retryable else "dead-letter"
    assert disposition_of(cls("boom")) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PoisonMessage("bad"), "dead-letter"),
        (MappingConfigError("no field"), "dead-letter"),
        (BrokerUnavailable("gone"), "retry"),
        (OSError("disk"), "retry"),  # unknown: bounded by the delivery limit
    ],
)
def test_transport_and_unknown_errors_have_a_disposition(error: Exception, expected: str) -> None:
    assert disposition_of(error) == expected


def test_a_poison_message_is_dead_lettered_on_the_first_delivery_with_its_reason() -> None:
    outcome = for_error(_delivery(), PoisonMessage("body is not JSON"), delivery_limit=3)
    assert outcome == DeadLetter(_delivery(), "PoisonMessage: body is not JSON", "poison")


def test_a_transient_error_is_retried_until_the_delivery_limit_then_dead_lettered() -> None:
    error = errors.ModelNotReady("loading")
    assert isinstance(for_error(_delivery(previous=2), error, delivery_limit=3), Retry)
    exhausted = for_error(_delivery(previous=3), error, delivery_limit=3)
    assert isinstance(exhausted, DeadLetter) and exhausted.kind == "retries-exhausted"
    assert "after 4 deliveries" in exhausted.reason and "ModelNotReady: loading" in exhausted.reason


def test_without_a_known_limit_the_broker_alone_bounds_retries() -> None:
    assert isinstance(for_error(_delivery(previous=99), errors.QueueFull("full"), delivery_limit=None), Retry)


def test_an_internal_failure_is_dead_lettered_as_failed_not_as_poison() -> None:
    outcome = for_error(_delivery(), errors.RuntimeFailure("onnxruntime failed"), delivery_limit=3)
    assert isinstance(outcome, DeadLetter) and outcome.kind == "failed"
