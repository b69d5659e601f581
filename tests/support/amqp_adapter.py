"""Running the AMQP adapter inside a test: settings for unique queues, a fake model, and a journal.

``RunningAdapter`` starts ``AmqpPipeline.run`` on a thread with a fake inference client and records every
adapter event with its time (the "adapter's own journal" of RELIABILITY's oracle). Leaving the context sets
the stop event, waits for the graceful drain and re-raises anything ``run`` raised.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.amqp.service import AmqpPipeline
from adapters.amqp.settings import AmqpPipelineSettings
from gateway.types import InferRequest, InferResponse
from tests.fakes import FakeInferenceClient
from tests.support.broker import Broker
from tests.support.fake_models import CLASSIFIER, classify

__all__ = [
    "Journal",
    "Names",
    "RunningAdapter",
    "classifier_client",
    "declare_request_queue",
    "pipeline_settings",
    "record",
    "request_body",
]


def record(i: int) -> dict[str, float]:
    """A request record for the fake classifier; distinct per ``i`` so results differ."""
    return {"mean_radius": round(0.001 * i, 3), "mean_texture": 0.5}


def request_body(i: int) -> bytes:
    return json.dumps(record(i)).encode()


def classifier_client(
    delay_s: float = 0.0, before: Callable[[InferRequest], None] | None = None
) -> FakeInferenceClient:
    """The fake classifier (``tests.support.fake_models``); ``delay_s`` per call, ``before`` may raise."""

    def handler(request: InferRequest) -> InferResponse:
        if before is not None:
            before(request)
        if delay_s:
            time.sleep(delay_s)
        return classify(request)

    return FakeInferenceClient(handler, [CLASSIFIER])


def pipeline_settings(url: str, queue: str, state_dir: Path, **source: Any) -> AmqpPipelineSettings:
    """Settings for the fake classifier on ``queue``; ``source`` overrides source keys, ``output`` and
    ``input`` (dicts) the pipeline's."""
    output = source.pop("output", {"format": "json"})
    inputs = source.pop("input", {"format": "json"})
    raw = {
        "name": f"test-{queue}",
        "model": CLASSIFIER.name,
        "source": {
            "url": url,
            "queue": queue,
            "prefetch": 50,
            "batch": {"max_messages": 32, "max_wait_ms": 5},
            "heartbeat_s": 10,
            "retry_delay_ms": 50,
            "park_retry_s": 0.5,
            "drain_timeout_s": 10,
            "reconnect": {"initial_ms": 100, "max_ms": 1000},
            "state_dir": str(state_dir),
            "delivery_limit": 3,
            **source,
        },
        "output": output,
        "input": inputs,
    }
    return AmqpPipelineSettings.model_validate(raw)


@dataclass
class Journal:
    """Adapter events with their monotonic times, appended from the I/O thread."""

    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, name: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self.events.append((time.monotonic(), name, dict(fields)))

    def of(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return [(t, f) for t, n, f in self.events if n == name]

    def count(self, name: str) -> int:
        return len(self.of(name))

    def wait_for(
        self, name: str, count: int = 1, timeout_s: float = 30.0, after: float = 0.0
    ) -> float | None:
        """Wait until ``count`` events ``name`` happened after time ``after``; returns the last one's time."""
        deadline = time.monotonic() + timeout_s
        while True:
            times = [t for t, _ in self.of(name) if t >= after]
            if len(times) >= count:
                return times[count - 1]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)


class RunningAdapter:
    """``with RunningAdapter(settings, client) as adapter:`` the adapter consumes until the block ends."""

    def __init__(self, settings: AmqpPipelineSettings, client: FakeInferenceClient) -> None:
        self.stop = threading.Event()
        self.journal = Journal()
        self.client = client
        self.pipeline = AmqpPipeline(settings, client, self.stop, environ={}, events=self.journal)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="amqp-adapter-under-test", daemon=True)

    def _run(self) -> None:
        try:
            self.pipeline.run()
        except BaseException as exc:
            self.error = exc
        self.error = self.error or self.pipeline.failure

    def __enter__(self) -> RunningAdapter:
        self._thread.start()
        if self.journal.wait_for("consuming", timeout_s=30) is None:
            self.stop.set()
            self._thread.join(timeout=10)
            raise AssertionError(f"adapter did not start consuming: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=60)
        if self._thread.is_alive():
            raise AssertionError("adapter did not stop within 60 s of the stop event")
        if self.error is not None:
            raise self.error

    @property
    def rows_inferred(self) -> int:
        """Rows the fake model was asked to score, over all calls."""
        return sum(len(call.inputs[0].data) for call in list(self.client.calls))


def declare_request_queue(url: str, settings: AmqpPipelineSettings) -> None:
    """Declare the request queue exactly as the adapter will (so requests can be published before it runs)."""
    import pika

    from adapters.amqp.topology import request_queue_arguments

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        source = settings.source
        channel.queue_declare(source.queue, durable=True, arguments=request_queue_arguments(source))
    finally:
        connection.close()


@dataclass(frozen=True)
class Names:
    """A test's queue names: requests, replies, and the dead-letter exchange and queue the adapter declares
    (see :func:`pipeline_settings`). :meth:`create` declares the reply queue and tracks all for cleanup."""

    requests: str
    replies: str

    @property
    def dead_letters(self) -> str:
        return f"{self.requests}.dead"

    @property
    def dlx(self) -> str:
        return f"{self.requests}.dlx"

    @classmethod
    def create(cls, broker: Broker) -> Names:
        names = cls(broker.name("requests"), broker.name("replies"))
        broker.declare_queue(names.replies)
        broker.track(queues=(names.requests, names.dead_letters), exchanges=(names.dlx,))
        return names


def requests(names: Names, count: int, prefix: str = "r") -> list[tuple[bytes, Any]]:
    """``count`` distinct JSON requests replying to ``names.replies``, ids ``<prefix>-0`` ..."""
    from tests.support.amqp_client import request_properties

    return [
        (request_body(i), request_properties(f"{prefix}-{i}", reply_to=names.replies)) for i in range(count)
    ]
