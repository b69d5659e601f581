"""Prometheus metrics at ``/metrics``: an ``InferenceObserver`` plus a model state listener.

Series (labels ``model``, ``version``):

* ``bridgeway_requests_total{outcome="success"|"failure"}``;
* ``bridgeway_request_queue_seconds``, ``bridgeway_request_compute_seconds``,
  ``bridgeway_request_duration_seconds`` (histograms);
* ``bridgeway_batch_size`` (histogram of rows per onnxruntime run);
* ``bridgeway_requests_in_flight`` (gauge, label ``model`` only);
* ``bridgeway_model_state{state=...}`` (1 for the version's current state, 0 for the others).

Label values are bounded: a model or version the core never announced (a caller's typo) is counted under
``model="_unknown"`` / ``version=""``, so bad requests cannot grow the number of series without limit. The
registry is private to this object (no process-wide global), so tests and embedders can run several.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["MODEL_STATES", "GatewayMetrics"]

MODEL_STATES = ("LOADING", "READY", "UNAVAILABLE", "UNLOADING")
UNKNOWN_MODEL = "_unknown"

_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0)
_LABELS = ("model", "version")
# name, help, buckets, attribute of _Series
_HISTOGRAMS = (
    ("bridgeway_request_queue_seconds", "Time a request waited to run.", _LATENCY_BUCKETS, "queue"),
    ("bridgeway_request_compute_seconds", "Time spent running the model.", _LATENCY_BUCKETS, "compute"),
    ("bridgeway_request_duration_seconds", "Time from arrival to result.", _LATENCY_BUCKETS, "total"),
    ("bridgeway_batch_size", "Rows per model run.", _BATCH_BUCKETS, "batch"),
)


class _Histogram:
    """Per-bucket counts and the sum of one series. Updated without a lock: all updates come from the event
    loop's thread, and a scrape copies the counts in one step (the GIL makes that copy consistent)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts by upper bound, as the exposition format wants them."""
        counts, running, out = list(self.counts), 0, []
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            running += count
            out.append((floatToGoString(bound), float(running)))
        return out


class _Series:
    """Everything counted for one (model, version) label pair."""

    __slots__ = ("batch", "compute", "created", "failure", "queue", "success", "total")

    def __init__(self) -> None:
        self.success = 0
        self.failure = 0
        self.queue = _Histogram(_LATENCY_BUCKETS)
        self.compute = _Histogram(_LATENCY_BUCKETS)
        self.total = _Histogram(_LATENCY_BUCKETS)
        self.batch = _Histogram(_BATCH_BUCKETS)
        self.created = time.time()


class _RequestCollector(Collector):
    """Exposes the per-request series at scrape time, in the same families a ``prometheus_client``
    Counter/Histogram/Gauge of these names would give."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        children, in_flight = self._metrics.snapshot()
        requests = CounterMetricFamily(
            "bridgeway_requests", "Inference requests by outcome.", labels=(*_LABELS, "outcome")
        )
        for (model, version), series in children:
            requests.add_metric([model, version, "success"], series.success, created=series.created)
            requests.add_metric([model, version, "failure"], series.failure, created=series.created)
        yield requests
        for name, documentation, _, attribute in _HISTOGRAMS:
            family = HistogramMetricFamily(name, documentation, labels=_LABELS)
            created = GaugeMetricFamily(f"{name}_created", documentation, labels=_LABELS)
            for (model, version), series in children:
                histogram: _Histogram = getattr(series, attribute)
                family.add_metric([model, version], histogram.buckets(), histogram.total)
                created.add_metric([model, version], series.created)
            yield family
            yield created
        gauge = GaugeMetricFamily("bridgeway_requests_in_flight", "Requests being served.", labels=("model",))
        for model, count in in_flight:
            gauge.add_metric([model], count)
        yield gauge


class GatewayMetrics:
    """Collects the gateway's metrics.

    The observer methods are called on the event loop's thread (see ``gateway.core.InferenceObserver``) and
    update plain counters, a few hundred nanoseconds each; ``prometheus_client`` metric objects take a lock
    per update and cost about 20 µs per request on a small VM. Scrapes read them from the HTTP thread.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._state = Gauge(
            "bridgeway_model_state", "1 for the current state of a model version.", (*_LABELS, "state"),
            registry=self.registry,
        )  # fmt: skip
        self._versions: dict[str, set[str]] = {}
        self._children: dict[tuple[str, str], _Series] = {}
        # (model, version) -> (label model, series) for announced versions only (bounded); the hot path
        # finds its series in one lookup. Replaced, never changed, whenever a state changes.
        self._announced: dict[tuple[str, str], tuple[str, _Series]] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.registry.register(_RequestCollector(self))

    def _series(self, model: str, version: str) -> tuple[str, _Series]:
        """The label model name and series of one (model, version); unknown ones share a bounded series."""
        found = self._announced.get((model, version))
        if found is not None:
            return found
        versions = self._versions.get(model)
        if versions is None:
            model, version = UNKNOWN_MODEL, ""
        elif version not in versions:
            version = ""
        key = (model, version)
        series = self._children.get(key)
        if series is None:
            with self._lock:
                series = self._children.get(key) or _Series()
                self._children[key] = series
                self._in_flight.setdefault(model, 0)
        if version:  # an announced version: worth remembering
            self._announced = {**self._announced, key: (model, series)}
        return model, series

    def snapshot(self) -> tuple[list[tuple[tuple[str, str], _Series]], list[tuple[str, int]]]:
        """The series and in-flight counts as they are now (for the collector, on any thread)."""
        with self._lock:
            return list(self._children.items()), list(self._in_flight.items())

    # -- InferenceObserver -------------------------------------------------------------------------------

    def request_started(self, model: str, version: str) -> None:
        label, _ = self._series(model, version)
        self._in_flight[label] += 1

    def request_finished(
        self, model: str, version: str, ok: bool, queue_s: float, compute_s: float, total_s: float
    ) -> None:
        label, series = self._series(model, version)
        if version:  # the core reports a start only once the version is resolved
            self._in_flight[label] -= 1
        if ok:
            series.success += 1
            series.queue.observe(queue_s)
            series.compute.observe(compute_s)
        else:
            series.failure += 1
        series.total.observe(total_s)

    def batch_executed(self, model: str, version: str, batch_size: int, compute_s: float) -> None:
        self._series(model, version)[1].batch.observe(batch_size)

    # -- model state listener ----------------------------------------------------------------------------

    def on_model_state(self, model: str, version: str, state: str) -> None:
        with self._lock:
            # Copy-on-write, so readers on other threads never see a set being changed.
            self._versions[model] = self._versions.get(model, set()) | {version}
            self._announced = {}
        for known in MODEL_STATES:
            self._state.labels(model, version, known).set(1 if known == state else 0)

    # -- HTTP exposition -----------------------------------------------------------------------------------

    def serve_http(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on a daemon thread; returns the bound port (useful with ``port=0``)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        """Stop the HTTP server, if one was started."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
