"""The least-privilege user docs/amqp.md recommends is enough for the adapter: declare, consume, reply,
dead-letter, in its own vhost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.amqp import messages as m
from tests.support.amqp_adapter import RunningAdapter, classifier_client, pipeline_settings, request_body
from tests.support.amqp_client import ResultCollector, publish_confirmed, request_properties
from tests.support.broker import Broker, scoped_user

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # rabbitmqctl user and vhost calls take seconds


def test_a_pipeline_runs_with_only_the_documented_permissions_in_its_own_vhost(
    broker: Broker, tmp_path: Path
) -> None:
    if not broker.is_local:
        pytest.skip("needs rabbitmqctl on the broker's machine to create a user and a vhost")
    queue = broker.name("requests")
    q = re.escape(queue)
    permissions = (rf"^{q}(\.dlx|\.dead)?$", rf"^(amq\.default|{q}\.dlx|{q}\.dead)$", rf"^{q}(\.dlx)?$")
    with scoped_user(broker, *permissions) as (user_url, admin_url):
        admin = Broker(admin_url)
        replies = admin.name("replies")
        admin.declare_queue(replies)
        settings = pipeline_settings(user_url, queue, tmp_path)
        with (
            RunningAdapter(settings, classifier_client()) as adapter,
            ResultCollector(admin_url, replies) as results,
        ):
            requests = [
                (request_body(1), request_properties("ok", reply_to=replies)),
                (b"{oops", request_properties("poison", reply_to=replies)),
            ]
            assert len(publish_confirmed(admin_url, queue, requests)) == 2
            assert results.wait_for(1, timeout_s=30)
            assert adapter.journal.wait_for("dead_lettered", timeout_s=30) is not None
        [(_, dead, _)] = admin.get_all(f"{queue}.dead")
    assert [r.correlation_id for r in results.snapshot()] == ["ok"]
    assert dead.message_id == "poison" and "not JSON" in dead.headers[m.HEADER_ERROR]
