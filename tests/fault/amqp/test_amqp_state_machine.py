"""RELIABILITY T18, CI-sized: a Hypothesis state machine over publish, duplicate, poison, connection resets
(the adapter talks to the broker through a loopback proxy that can cut it) and adapter restarts, checking the
oracle after every example.

Invariants: every confirmed, well-formed request eventually has a result (lost = 0); nothing unexpected;
repeats of an id carry identical bytes; every poison request is dead-lettered and never answered; every
result carries its lineage. A failing example shrinks to the shortest sequence of steps that fails, which
Hypothesis prints as a replayable script. ``BW_T18_EXAMPLES`` raises the example count (nightly: 200).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from tests.support.amqp_adapter import (
    Names,
    RunningAdapter,
    classifier_client,
    pipeline_settings,
    request_body,
)
from tests.support.amqp_client import Oracle, ResultCollector, publish_confirmed, request_properties
from tests.support.bridgeway_run import wait_for
from tests.support.broker import Broker
from tests.support.tcp_proxy import BlackholeProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINEAGE = (
    "model_name",
    "model_version",
    "model_sha256",
    "message_id",
    "correlation_id",
    "run_id",
    "processed_at",
)


class AdapterMachine(RuleBasedStateMachine):
    """One example: fresh queues, one adapter (restarted at will), one collector, one oracle."""

    def __init__(self, broker: Broker, state_dir: Path, proxy: BlackholeProxy) -> None:
        super().__init__()
        self.broker = broker
        self.proxy = proxy
        self.names = Names.create(broker)
        target = urlsplit(broker.url)
        through_proxy = urlunsplit(
            target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{proxy.port}")
        )
        self.settings = pipeline_settings(through_proxy, self.names.requests, state_dir, prefetch=20)
        self.oracle = Oracle()
        self.poison: set[str] = set()
        self.next_id = 0
        self.adapters = [RunningAdapter(self.settings, classifier_client()).__enter__()]
        self.results = ResultCollector(broker.url, self.names.replies).__enter__()

    def _publish(self, ids: list[str], bodies: list[bytes]) -> None:
        messages = [
            (b, request_properties(i, reply_to=self.names.replies)) for i, b in zip(ids, bodies, strict=True)
        ]
        self.oracle.published |= set(ids)
        self.oracle.confirmed |= publish_confirmed(self.broker.url, self.names.requests, messages)

    @rule(count=st.integers(1, 30))
    def publish(self, count: int) -> None:
        ids = [f"s-{self.next_id + i}" for i in range(count)]
        self._publish(ids, [request_body(self.next_id + i) for i in range(count)])
        self.next_id += count

    @precondition(lambda self: self.next_id > 0)
    @rule(data=st.data())
    def publish_again(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, self.next_id - 1), label="repeat of")
        self._publish([f"s-{i}"], [request_body(i)])

    @rule()
    def publish_poison(self) -> None:
        rid = f"poison-{self.next_id}"
        self.next_id += 1
        self.poison.add(rid)
        self._publish([rid], [b"{not json"])

    @rule()
    def cut_the_adapters_connection(self) -> None:
        self.proxy.cut()

    @rule()
    def restart_adapter(self) -> None:
        self.adapters[-1].__exit__(None, None, None)
        self.adapters.append(RunningAdapter(self.settings, classifier_client()).__enter__())

    def teardown(self) -> None:
        try:
            self._check()
        finally:
            self.adapters[-1].__exit__(None, None, None)
            self.results.__exit__(None, None, None)
            self.broker.cleanup()

    def _check(self) -> None:
        expected = self.oracle.confirmed - self.poison
        assert self.results.wait_for(len(expected), timeout_s=60), "confirmed requests without a result"
        poison = self.poison & self.oracle.confirmed
        wait_for(lambda: self.broker.message_count(self.names.dead_letters) >= len(poison), timeout_s=60)
        dead = {props.message_id for _, props, _ in self.broker.get_all(self.names.dead_letters)}
        assert poison <= dead
        counts = self.oracle.counts(self.results.snapshot())
        assert counts.unexpected == 0 and counts.dup_consistent
        answered = {r.correlation_id for r in self.results.snapshot()}
        assert expected <= answered and not answered & self.poison
        for result in self.results.snapshot():
            row = json.loads(result.body)
            assert all(row.get(column) for column in LINEAGE), f"a result without lineage: {row}"


def test_t18_random_schedules_of_faults_never_lose_or_alter_a_confirmed_request(broker: Broker) -> None:
    examples = int(os.environ.get("BW_T18_EXAMPLES", "20"))
    target = urlsplit(broker.url)
    with (
        tempfile.TemporaryDirectory() as state,
        BlackholeProxy(target.hostname or "", target.port or 5672) as proxy,
    ):
        run_state_machine_as_test(
            lambda: AdapterMachine(broker, Path(state), proxy),
            settings=settings(
                max_examples=examples,
                stateful_step_count=6,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
