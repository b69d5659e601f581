"""Which broker closes are configuration errors (stop) and which are transient (reconnect)."""

from __future__ import annotations

import pika.exceptions
import pytest

from adapters.amqp.errors import describe, is_fatal_close

REFUSED = (
    "ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused using authentication mechanism'"
)
NO_VHOST = "ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost claims not found'"


@pytest.mark.parametrize(
    "reason",
    [
        pika.exceptions.ProbableAuthenticationError(REFUSED),
        pika.exceptions.ProbableAccessDeniedError(NO_VHOST),
        pika.exceptions.ChannelClosedByBroker(
            406, "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit'"
        ),
        pika.exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no queue 'requests'"),
    ],
    ids=["bad-credentials", "no-vhost", "other-queue-arguments", "missing-queue"],
)
def test_refusals_by_the_broker_are_configuration_errors(reason: BaseException) -> None:
    assert is_fatal_close(reason)


@pytest.mark.parametrize(
    "reason",
    [
        pika.exceptions.ProbableAuthenticationError("StreamLostError: ('Transport indicated EOF',)"),
        pika.exceptions.ProbableAccessDeniedError("ConnectionClosedByBroker: (320) 'CONNECTION_FORCED'"),
        pika.exceptions.ConnectionClosedByBroker(320, "CONNECTION_FORCED - broker forced connection closure"),
        pika.exceptions.StreamLostError("Transport indicated EOF"),
        pika.exceptions.AMQPHeartbeatTimeout("No activity or too many missed heartbeats"),
    ],
    ids=["cut-during-handshake", "restart-during-handshake", "broker-restart", "socket-lost", "heartbeat"],
)
def test_lost_connections_are_transient_even_when_pika_guesses_an_authentication_error(
    reason: BaseException,
) -> None:
    assert not is_fatal_close(reason)


def test_a_close_is_described_by_its_code_and_text() -> None:
    assert (
        describe(pika.exceptions.ConnectionClosedByBroker(320, "CONNECTION_FORCED"))
        == "320 CONNECTION_FORCED"
    )
    assert describe(pika.exceptions.StreamLostError("EOF")) == "StreamLostError: EOF"
