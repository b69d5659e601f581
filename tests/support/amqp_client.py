"""The other side of the queue, for tests and benchmarks: a streaming-confirm publisher, a result collector
that survives broker restarts, and the fault tests' oracle (RELIABILITY "Common oracle").

Deliberately independent of ``adapters.amqp``: the oracle must not share the code it judges.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pika
import pika.channel
import pika.exceptions
import pika.frame
import pika.spec

__all__ = ["Counts", "Oracle", "ResultCollector", "publish_confirmed", "request_properties"]


def request_properties(
    request_id: str,
    reply_to: str | None = None,
    content_type: str | None = "application/json",
    **extra: object,
) -> pika.BasicProperties:
    """Persistent request properties whose message id and correlation id are both ``request_id``."""
    return pika.BasicProperties(
        message_id=request_id,
        correlation_id=request_id,
        reply_to=reply_to,
        content_type=content_type,
        delivery_mode=2,
        **extra,  # type: ignore[arg-type]
    )


def publish_confirmed(
    url: str,
    routing_key: str,
    messages: Sequence[tuple[bytes, pika.BasicProperties]],
    *,
    exchange: str = "",
    window: int = 500,
    timeout_s: float = 120.0,
) -> set[str]:
    """Publish ``messages`` with streaming confirms; returns the message ids the broker confirmed (acked)."""
    confirmed: set[str] = set()
    outstanding: dict[int, str] = {}
    state = {"next": 0, "seq": 0}

    def pump(channel: pika.channel.Channel) -> None:
        while state["next"] < len(messages) and len(outstanding) < window:
            body, properties = messages[state["next"]]
            state["next"] += 1
            channel.basic_publish(exchange, routing_key, body, properties)
            state["seq"] += 1
            outstanding[state["seq"]] = properties.message_id or ""
        if state["next"] >= len(messages) and not outstanding:
            channel.connection.close()

    def on_confirm(channel: pika.channel.Channel, frame: pika.frame.Method) -> None:
        tag, acked = frame.method.delivery_tag, isinstance(frame.method, pika.spec.Basic.Ack)
        seqs = [s for s in outstanding if s <= tag] if frame.method.multiple else [tag]
        for seq in seqs:
            message_id = outstanding.pop(seq, None)
            if acked and message_id is not None:
                confirmed.add(message_id)
        pump(channel)

    def on_channel(channel: pika.channel.Channel) -> None:
        channel.confirm_delivery(lambda frame: on_confirm(channel, frame), callback=lambda _f: pump(channel))

    connection = pika.SelectConnection(
        pika.URLParameters(url),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=lambda c, e: c.ioloop.stop(),
        on_close_callback=lambda c, r: c.ioloop.stop(),
    )
    timer = threading.Timer(
        timeout_s, lambda: connection.ioloop.add_callback_threadsafe(connection.ioloop.stop)
    )
    timer.start()
    try:
        connection.ioloop.start()
    finally:
        timer.cancel()
        connection.ioloop.close()
    return confirmed


@dataclass(frozen=True)
class Result:
    correlation_id: str
    sha256: str
    body: bytes
    properties: pika.BasicProperties
    redelivered: bool
    at: float


class ResultCollector:
    """Consumes a results queue on its own thread, reconnecting through broker restarts.

    Each result is recorded before it is acked. A redelivery (after this collector's own connection broke)
    of a payload it already recorded for that correlation id is not counted again: it is the collector's
    duplicate, not the adapter's.
    """

    def __init__(self, url: str, queue: str) -> None:
        self._url, self._queue = url, queue
        self._lock = threading.Lock()
        self.results: list[Result] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="result-collector", daemon=True)

    def __enter__(self) -> ResultCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def distinct(self) -> int:
        with self._lock:
            return len({r.correlation_id for r in self.results})

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` distinct correlation ids have results."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.distinct() >= count:
                return True
            time.sleep(0.05)
        return self.distinct() >= count

    def wait_for_total(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` results (repeats included) have arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.snapshot()) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def snapshot(self) -> list[Result]:
        with self._lock:
            return list(self.results)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except (pika.exceptions.AMQPError, OSError):
                self._stop.wait(0.5)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self._url))
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=500)
            for method, properties, body in channel.consume(self._queue, inactivity_timeout=0.2):
                if self._stop.is_set():
                    break
                if method is None:
                    continue
                self._record(method, properties, body)
                channel.basic_ack(method.delivery_tag)
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()

    def _record(self, method: pika.spec.Basic.Deliver, properties: pika.BasicProperties, body: bytes) -> None:
        result = Result(
            properties.correlation_id or "", hashlib.sha256(body).hexdigest(), body, properties,
            bool(method.redelivered), time.monotonic(),
        )  # fmt: skip
        with self._lock:
            if result.redelivered and any(
                r.correlation_id == result.correlation_id and r.sha256 == result.sha256 for r in self.results
            ):
                return
            self.results.append(result)


@dataclass(frozen=True)
class Counts:
    published: int
    confirmed: int
    results: int
    lost: int
    duplicates: int
    dup_consistent: bool
    unexpected: int


@dataclass
class Oracle:
    """P (published), C (confirmed), R (results by correlation id): lost, dup, dup_consistent, unexpected."""

    published: set[str] = field(default_factory=set)
    confirmed: set[str] = field(default_factory=set)

    def counts(self, results: Iterable[Result]) -> Counts:
        results = list(results)
        ids = Counter(r.correlation_id for r in results)
        digests: dict[str, set[str]] = {}
        for r in results:
            digests.setdefault(r.correlation_id, set()).add(r.sha256)
        return Counts(
            published=len(self.published),
            confirmed=len(self.confirmed),
            results=len(results),
            lost=len(self.confirmed - set(ids)),
            duplicates=len(results) - len(ids),
            dup_consistent=all(len(d) == 1 for d in digests.values()),
            unexpected=len(set(ids) - self.published),
        )
