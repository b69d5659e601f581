"""RELIABILITY T2 (SIGKILL of the adapter during inference, restarted by a supervisor) and T3 (a silent
network blackhole between adapter and broker), with the oracle's counts. Sizes scaled down from the table."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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
from tests.support.tcp_proxy import BlackholeProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def _spawn(settings_file: Path, journal: Path, delay_s: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "tests.support.amqp_worker",
        str(settings_file),
        str(journal),
        str(delay_s),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_t2_sigkill_of_the_adapter_loses_nothing_and_acks_only_after_the_result_is_confirmed(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    n, prefetch, kills = 1_000, 50, 3
    rng = random.Random(2)  # fixed: a failure replays the same kill points
    settings = pipeline_settings(
        broker.url, names.requests, tmp_path, prefetch=prefetch, batch={"max_messages": 16, "max_wait_ms": 2}
    )
    settings_file, journal = tmp_path / "settings.json", tmp_path / "journal.jsonl"
    raw = settings.model_dump(mode="json")
    raw["source"]["url"] = settings.source.url.get_secret_value()  # a SecretStr dumps masked
    settings_file.write_text(json.dumps(raw), encoding="utf-8")
    declare_request_queue(broker.url, settings)
    batch = requests(names, n)
    oracle = Oracle(published={p.message_id for _, p in batch})
    oracle.confirmed = publish_confirmed(broker.url, names.requests, batch)
    with ResultCollector(broker.url, names.replies) as results:
        worker = _spawn(settings_file, journal, delay_s=0.02)
        try:
            for k in range(kills):  # the supervisor: kill at a random point, start again
                assert results.wait_for(int(n * (k + 1) / (kills + 2) * rng.uniform(0.8, 1.2)), timeout_s=60)
                time.sleep(rng.uniform(0, 0.2))
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
                worker = _spawn(settings_file, journal, delay_s=0.02)
            assert results.wait_for(n, timeout_s=120)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.lost == 0 and counts.unexpected == 0 and counts.dup_consistent
    assert counts.duplicates <= kills * prefetch
    events = _journal(journal)
    received: dict[str, list[bool]] = defaultdict(list)
    confirmed_at: dict[str, float] = {}
    for e in events:
        if e["event"] == "received":
            received[e["key"]].append(e["redelivered"])
        elif e["event"] in ("result_confirmed", "parked"):
            confirmed_at.setdefault(e["key"], e["t"])
    assert all(all(flags[1:]) for flags in received.values()), (
        "a repeated delivery was not marked redelivered"
    )
    acks = [e for e in events if e["event"] == "request_acked"]
    assert len({e["key"] for e in acks}) == n
    assert all(e["key"] in confirmed_at and confirmed_at[e["key"]] <= e["t"] for e in acks)


def test_t3_a_silent_blackhole_is_detected_by_heartbeats_and_healed_without_loss(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    n, prefetch, window, heartbeat_s, blackhole_s = 1_000, 50, 100, 2, 15.0
    target = urlparse(broker.url)
    with BlackholeProxy(target.hostname or "127.0.0.1", target.port or 5672) as proxy:
        proxied = broker.url.replace(f"{target.hostname}:{target.port or 5672}", f"127.0.0.1:{proxy.port}")
        if f":{proxy.port}" not in proxied:
            proxied = broker.url.replace(f"@{target.hostname}", f"@127.0.0.1:{proxy.port}", 1)
        settings = pipeline_settings(
            proxied, names.requests, tmp_path, prefetch=prefetch, confirm_window=window,
            heartbeat_s=heartbeat_s, connect_timeout_s=3, batch={"max_messages": 8, "max_wait_ms": 2},
        )  # fmt: skip
        declare_request_queue(broker.url, settings)
        batch = requests(names, n)
        oracle = Oracle(published={p.message_id for _, p in batch})
        oracle.confirmed = publish_confirmed(broker.url, names.requests, batch)
        with ResultCollector(broker.url, names.replies) as results:
            with RunningAdapter(settings, classifier_client(delay_s=0.01)) as adapter:
                assert results.wait_for(n // 4, timeout_s=60)
                holed = time.monotonic()
                proxy.blackhole()
                lost = adapter.journal.wait_for("connection_lost", after=holed, timeout_s=blackhole_s)
                assert lost is not None, f"dead connection not detected within {blackhole_s} s"
                assert lost - holed <= 2 * (heartbeat_s + 5)
                time.sleep(max(0.0, holed + blackhole_s - time.monotonic()))
                healed = time.monotonic()
                proxy.heal()
                back = adapter.journal.wait_for("consuming", after=healed, timeout_s=10)
                assert back is not None, "no reconnect within 10 s of the heal"
                assert results.wait_for(n, timeout_s=120)
    counts = oracle.counts(results.snapshot())
    print(counts)
    assert counts.lost == 0 and counts.unexpected == 0 and counts.dup_consistent
    assert counts.duplicates <= prefetch + window
