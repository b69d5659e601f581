"""RELIABILITY T1 (broker restart mid-stream) and T4 (publisher flow control), on a local RabbitMQ node.

Both drive the broker with ``rabbitmqctl`` and always restore it (``start_app``, the memory watermark) in a
``finally``. Sizes are scaled down from the table's N to keep each test to tens of seconds on 2 cores.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.amqp_adapter import (
    Names,
    RunningAdapter,
    classifier_client,
    declare_request_queue,
    pipeline_settings,
    requests,
)
from tests.support.amqp_client import Oracle, ResultCollector, publish_confirmed
from tests.support.broker import Broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def local_broker(broker: Broker) -> Broker:
    if not broker.is_local:
        pytest.skip("needs rabbitmqctl on the broker's machine (RABBITMQ_URL points elsewhere)")
    return broker


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_t1_a_broker_restart_mid_stream_loses_nothing_and_bounds_duplicates(
    local_broker: Broker, names: Names, tmp_path: Path
) -> None:
    n, prefetch, outages = 2_000, 50, (0.25, 0.60)
    settings = pipeline_settings(
        local_broker.url,
        names.requests,
        tmp_path,
        prefetch=prefetch,
        batch={"max_messages": 8, "max_wait_ms": 2},
    )
    declare_request_queue(local_broker.url, settings)
    batch = requests(names, n)
    oracle = Oracle(published={p.message_id for _, p in batch})
    oracle.confirmed = publish_confirmed(local_broker.url, names.requests, batch)
    with ResultCollector(local_broker.url, names.replies) as results:
        slow = classifier_client(delay_s=0.05)  # ~160 requests/s: each outage lands mid-stream
        with RunningAdapter(settings, slow) as adapter:
            for fraction in outages:
                assert results.wait_for(int(n * fraction), timeout_s=60)
                try:
                    local_broker.stop_app()
                    assert results.distinct() < n, "the stream ended before the outage"
                finally:
                    restarting = time.monotonic()
                    local_broker.start_app()  # returns once the node has booted
                back = time.monotonic()
                resumed = adapter.journal.wait_for(
                    "consuming", after=restarting, timeout_s=back - restarting + 10
                )
                assert resumed is not None, "adapter not consuming again within 10 s of start_app"
            assert results.wait_for(n, timeout_s=120)
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert (counts.published, counts.confirmed) == (n, n)
    assert counts.lost == 0
    assert counts.unexpected == 0
    assert counts.duplicates <= len(outages) * prefetch
    assert counts.dup_consistent


def test_t4_publisher_flow_control_blocks_then_resumes_with_bounded_outstanding_confirms(
    local_broker: Broker, names: Names, tmp_path: Path
) -> None:
    n, window = 1_500, 50
    settings = pipeline_settings(
        local_broker.url, names.requests, tmp_path, prefetch=200, confirm_window=window,
        batch={"max_messages": 8, "max_wait_ms": 2},
    )  # fmt: skip
    declare_request_queue(local_broker.url, settings)
    batch = requests(names, n)
    oracle = Oracle(published={p.message_id for _, p in batch})
    oracle.confirmed = publish_confirmed(local_broker.url, names.requests, batch)
    watermark = local_broker.memory_watermark()
    with ResultCollector(local_broker.url, names.replies) as results:
        slow = classifier_client(delay_s=0.05)  # ~160 requests/s: results still flow when the alarm starts
        with RunningAdapter(settings, slow) as adapter:
            assert results.wait_for(100, timeout_s=60)
            rss_before = _rss_mb()
            try:
                local_broker.set_memory_watermark("0")
                assert adapter.journal.wait_for("blocked", timeout_s=15) is not None
                time.sleep(8)  # the table's 20 s, scaled down
                during = results.distinct()
            finally:
                local_broker.set_memory_watermark(watermark)
            restored = time.monotonic()
            assert adapter.journal.wait_for("unblocked", timeout_s=15) is not None
            resumed = adapter.journal.wait_for("result_confirmed", after=restored, timeout_s=15)
            assert resumed is not None and resumed - restored <= 5.0
            assert results.wait_for(n, timeout_s=120)
            assert adapter.pipeline.consumer is not None
            assert adapter.pipeline.consumer.max_outstanding_confirms <= window
            assert _rss_mb() - rss_before < 50
    assert during < n  # the block really held results back
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.lost == 0 and counts.unexpected == 0 and counts.dup_consistent
