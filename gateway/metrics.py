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
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["MODEL_STATES", "GatewayMetrics"]

MODEL_STATES = ("LOADING", "READY", "UNAVAILABLE", "UNLOADING")
UNKNOWN_MODEL = "_unknown"

_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class _Series:
    """Every metric child of one (model, version) label pair."""

    __slots__ = ("batch", "compute", "failure", "in_flight", "queue", "success", "total")

    def __init__(self, metrics: GatewayMetrics, model: str, version: str) -> None:
        self.success = metrics._requests.labels(model, version, "success")
        self.failure = metrics._requests.labels(model, version, "failure")
        self.queue = metrics._queue.labels(model, version)
        self.compute = metrics._compute.labels(model, version)
        self.total = metrics._total.labels(model, version)
        self.batch = metrics._batch.labels(model, version)
        self.in_flight = metrics._in_flight.labels(model)


class GatewayMetrics:
    """Collects the gateway's metrics; thread-safe (the core may call from worker threads)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("model", "version")
        registry = self.registry
        self._requests = Counter(
            "bridgeway_requests", "Inference requests by outcome.", (*labels, "outcome"), registry=registry
        )
        self._queue = self._histogram("bridgeway_request_queue_seconds", "Time a request waited to run.")
        self._compute = self._histogram("bridgeway_request_compute_seconds", "Time spent running the model.")
        self._total = self._histogram("bridgeway_request_duration_seconds", "Time from arrival to result.")
        self._batch = Histogram(
            "bridgeway_batch_size", "Rows per model run.", labels, buckets=_BATCH_BUCKETS, registry=registry
        )
        self._in_flight = Gauge(
            "bridgeway_requests_in_flight", "Requests being served.", ("model",), registry=self.registry
        )
        self._state = Gauge(
            "bridgeway_model_state", "1 for the current state of a model version.", (*labels, "state"),
            registry=self.registry,
        )  # fmt: skip
        self._versions: dict[str, set[str]] = {}
        self._children: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _histogram(self, name: str, documentation: str) -> Histogram:
        return Histogram(
            name, documentation, ("model", "version"), buckets=_LATENCY_BUCKETS, registry=self.registry
        )

    def _series(self, model: str, version: str) -> _Series:
        """The label children of one (model, version), resolved once: ``labels()`` costs a lock per call."""
        versions = self._versions.get(model)
        if versions is None:
            model, version = UNKNOWN_MODEL, ""
        elif version not in versions:
            version = ""
        key = (model, version)
        series = self._children.get(key)
        if series is None:
            with self._lock:
                series = self._children.get(key) or _Series(self, model, version)
                self._children[key] = series
        return series

    # -- InferenceObserver -------------------------------------------------------------------------------

    def request_started(self, model: str, version: str) -> None:
        self._series(model, version).in_flight.inc()

    def request_finished(
        self, model: str, version: str, ok: bool, queue_s: float, compute_s: float, total_s: float
    ) -> None:
        series = self._series(model, version)
        if version:  # the core reports a start only once the version is resolved
            series.in_flight.dec()
        if ok:
            series.success.inc()
            series.queue.observe(queue_s)
            series.compute.observe(compute_s)
        else:
            series.failure.inc()
        series.total.observe(total_s)

    def batch_executed(self, model: str, version: str, batch_size: int, compute_s: float) -> None:
        self._series(model, version).batch.observe(batch_size)

    # -- model state listener ----------------------------------------------------------------------------

    def on_model_state(self, model: str, version: str, state: str) -> None:
        with self._lock:
            # Copy-on-write, so readers on other threads never see a set being changed.
            self._versions[model] = self._versions.get(model, set()) | {version}
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
