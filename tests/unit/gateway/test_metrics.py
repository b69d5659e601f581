"""gateway.metrics: the observer and state listener keep bounded, balanced Prometheus series."""

from __future__ import annotations

import urllib.request

from gateway.metrics import GatewayMetrics


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_successful_request_is_counted_timed_and_leaves_nothing_in_flight() -> None:
    metrics = GatewayMetrics()
    metrics.on_model_state("m", "1", "READY")
    metrics.request_started("m", "1")
    assert value(metrics, "bridgeway_requests_in_flight", model="m") == 1
    metrics.request_finished("m", "1", True, 0.001, 0.002, 0.004)
    metrics.batch_executed("m", "1", 8, 0.002)
    assert value(metrics, "bridgeway_requests_in_flight", model="m") == 0
    assert value(metrics, "bridgeway_requests_total", model="m", version="1", outcome="success") == 1
    assert value(metrics, "bridgeway_request_duration_seconds_sum", model="m", version="1") == 0.004
    assert value(metrics, "bridgeway_batch_size_bucket", model="m", version="1", le="8.0") == 1


def test_a_request_refused_before_its_version_resolved_does_not_unbalance_in_flight() -> None:
    metrics = GatewayMetrics()
    metrics.on_model_state("m", "1", "READY")
    metrics.request_finished("m", "", False, 0.0, 0.0, 0.001)
    assert value(metrics, "bridgeway_requests_in_flight", model="m") in (None, 0)
    assert value(metrics, "bridgeway_requests_total", model="m", version="", outcome="failure") == 1


def test_unknown_model_names_share_one_series() -> None:
    metrics = GatewayMetrics()
    for name in ("typo1", "typo2", "typo3"):
        metrics.request_finished(name, "", False, 0.0, 0.0, 0.001)
    assert value(metrics, "bridgeway_requests_total", model="_unknown", version="", outcome="failure") == 3
    assert value(metrics, "bridgeway_requests_total", model="typo1", version="", outcome="failure") is None


def test_model_state_gauge_marks_only_the_current_state() -> None:
    metrics = GatewayMetrics()
    metrics.on_model_state("m", "2", "LOADING")
    metrics.on_model_state("m", "2", "READY")
    assert value(metrics, "bridgeway_model_state", model="m", version="2", state="READY") == 1
    assert value(metrics, "bridgeway_model_state", model="m", version="2", state="LOADING") == 0


def test_metrics_are_served_over_http_on_a_chosen_free_port() -> None:
    metrics = GatewayMetrics()
    metrics.on_model_state("m", "1", "READY")
    port = metrics.serve_http("127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    finally:
        metrics.close()
    assert 'bridgeway_model_state{model="m",state="READY",version="1"} 1.0' in text


def test_two_instances_do_not_share_a_registry() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.on_model_state("m", "1", "READY")
    assert value(second, "bridgeway_model_state", model="m", version="1", state="READY") is None


def test_a_version_announced_after_earlier_requests_gets_its_own_series_from_then_on() -> None:
    metrics = GatewayMetrics()
    metrics.on_model_state("m", "1", "READY")
    metrics.request_finished("m", "1", False, 0.0, 0.0, 0.001)  # remembered as m/1
    metrics.request_finished("m", "2", False, 0.0, 0.0, 0.001)  # not announced: m, version ""
    metrics.on_model_state("m", "2", "READY")
    metrics.request_finished("m", "2", False, 0.0, 0.0, 0.001)
    assert value(metrics, "bridgeway_requests_total", model="m", version="1", outcome="failure") == 1
    assert value(metrics, "bridgeway_requests_total", model="m", version="", outcome="failure") == 1
    assert value(metrics, "bridgeway_requests_total", model="m", version="2", outcome="failure") == 1
