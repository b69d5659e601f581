"""The worker's job: a micro-batch of deliveries in, one :data:`Outcome` per delivery out.

Steps, all off the connection's I/O thread:

1. decode each body with the codec its content type selects (a failure is poison for that message only);
2. look each request id up in the processed-id store: a known id with the same body replays the stored
   bytes without inference; a known id with a different body is poison (ids must be stable);
   repeats of one id inside the batch wait for the first;
3. score every remaining message's records in ONE ``ScoringPipeline.score`` call (the pipeline splits it
   into inference calls of the model's batch size);
4. split the scored rows back per message: a message with a rejected row is dead-lettered with the record
   number, field and reason; the others get their reply body, committed to the store before anyone
   publishes it.

When the whole call fails, the error's disposition applies to every message, after isolating the requests
that may cause it (see ``_isolate``), so one bad request cannot sink the others.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters.amqp import messages as m
from adapters.amqp.disposition import DeadLetter, Outcome, Reply, disposition_of, for_error
from adapters.amqp.errors import PoisonMessage
from adapters.amqp.messages import DecodedRequest, Delivery, ReplyEncoder, RequestDecoder
from adapters.amqp.store import ProcessedStore, StoredResult
from adapters.pipeline import MessageRef, RecordBatch, ScoredBatch, ScoringPipeline

__all__ = ["BatchScorer", "Formats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Formats:
    """The codecs a pipeline reads and writes: by request content type, the default, and the reply's."""

    by_content_type: Mapping[str, RequestDecoder]
    default: RequestDecoder
    reply: ReplyEncoder
    allowed: Sequence[str]
    max_records: int


@dataclass(slots=True)
class _Pending:
    """A decoded request waiting for inference."""

    index: int
    delivery: Delivery
    key: str
    decoded: DecodedRequest


class BatchScorer:
    """Turns deliveries into outcomes (see the module docstring). Used from one worker thread."""

    def __init__(
        self,
        pipeline: ScoringPipeline,
        store: ProcessedStore,
        formats: Formats,
        *,
        delivery_limit: int | None,
        has_fixed_destination: bool,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._formats = formats
        self._delivery_limit = delivery_limit
        self._has_destination = has_fixed_destination

    def process(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in the same order. Never raises."""
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        try:
            leaders, followers = self._prepare(deliveries, outcomes)
            self._score(leaders, outcomes)
        except Exception as exc:  # store or pipeline failure outside the per-message paths
            log.exception("amqp: batch of %d failed", len(deliveries))
            for i, outcome in enumerate(outcomes):
                if outcome is None:
                    outcomes[i] = for_error(deliveries[i], exc, self._delivery_limit)
            return [o for o in outcomes if o is not None]
        for index, leader in followers:
            outcomes[index] = _follow(deliveries[index], outcomes[leader])
        return [o for o in outcomes if o is not None]

    def _prepare(
        self, deliveries: Sequence[Delivery], outcomes: list[Outcome | None]
    ) -> tuple[list[_Pending], list[tuple[int, int]]]:
        """Decode and de-duplicate; returns the requests to score and (index, leader index) repeats."""
        known = self._store.lookup(d.key for d in deliveries if d.key)
        leaders: list[_Pending] = []
        first: dict[str, int] = {}
        followers: list[tuple[int, int]] = []
        for i, delivery in enumerate(deliveries):
            key = delivery.key or f"anonymous:{uuid.uuid4().hex}"
            try:
                self._check_destination(delivery)
                stored = known.get(key)
                if stored is not None:
                    outcomes[i] = _replay(delivery, stored)
                    continue
                if key in first:
                    followers.append((i, first[key]))
                    continue
                codec = m.codec_for(
                    delivery.content_type,
                    self._formats.allowed,
                    self._formats.by_content_type,
                    self._formats.default,
                )
                _check_encoding(delivery)
                decoded = codec.decode(delivery.body, self._formats.max_records)
            except PoisonMessage as exc:
                outcomes[i] = for_error(delivery, exc, self._delivery_limit)
                continue
            first[key] = i
            leaders.append(_Pending(i, delivery, key, decoded))
        return leaders, followers

    def _check_destination(self, delivery: Delivery) -> None:
        if not self._has_destination and not delivery.reply_to:
            raise PoisonMessage("no reply_to property, and the pipeline has no output exchange configured")

    def _score(self, pending: list[_Pending], outcomes: list[Outcome | None]) -> None:
        if not pending:
            return
        try:
            scored = self._pipeline.score(*_batch(pending))
        except Exception as exc:
            groups = _isolate(pending, exc)
            if len(groups) > 1:
                for group in groups:
                    self._score(group, outcomes)
                return
            if disposition_of(exc) == "retry":
                log.warning("amqp: scoring %d message(s) failed, will retry: %s", len(pending), exc)
            for one in pending:
                outcomes[one.index] = for_error(one.delivery, exc, self._delivery_limit)
            return
        results = self._split(pending, scored, outcomes)
        try:
            self._store.save(results)
        except sqlite3.Error as exc:  # nothing may be published that the store could not keep
            log.error("amqp: processed-id store failed, requeueing %d message(s): %s", len(results), exc)
            for one in pending:
                if isinstance(outcomes[one.index], Reply):
                    outcomes[one.index] = for_error(one.delivery, exc, self._delivery_limit)

    def _split(
        self, pending: list[_Pending], scored: ScoredBatch, outcomes: list[Outcome | None]
    ) -> list[StoredResult]:
        """Reply bodies per message from the scored rows; dead letters for messages with rejected rows."""
        starts = _starts(pending)
        rows_of: list[list[dict[str, Any]]] = [[] for _ in pending]
        for row_index, row in zip(scored.indices.tolist(), scored.rows(), strict=True):
            rows_of[_owner(starts, row_index)].append(row)
        rejected: dict[int, list[str]] = {}
        for rejection in scored.rejections:
            owner = _owner(starts, rejection.record_number - 1)
            number = rejection.record_number - starts[owner]
            where = f"record {number}" + (f" field {rejection.field!r}" if rejection.field else "")
            rejected.setdefault(owner, []).append(f"{where}: {rejection.reason}")
        results: list[StoredResult] = []
        for position, one in enumerate(pending):
            try:
                if position in rejected:
                    raise PoisonMessage("; ".join(rejected[position]))
                result = self._result(one, rows_of[position])
            except PoisonMessage as exc:
                outcomes[one.index] = for_error(one.delivery, exc, self._delivery_limit)
                continue
            results.append(result)
            outcomes[one.index] = Reply(one.delivery, result)
        return results

    def _result(self, one: _Pending, rows: list[dict[str, Any]]) -> StoredResult:
        codec = self._formats.reply
        lineage = rows[0]
        headers: dict[str, str | int] = {
            m.HEADER_MODEL: str(lineage.get("model_name", "")),
            m.HEADER_MODEL_VERSION: str(lineage.get("model_version", "")),
            m.HEADER_MODEL_SHA256: str(lineage.get("model_sha256", "")),
            m.HEADER_RECORDS: len(rows),
        }
        if one.delivery.message_id:
            headers[m.HEADER_REQUEST_MESSAGE_ID] = one.delivery.message_id
        if one.delivery.user_id:  # the broker checks user_id against the publishing connection's user
            headers[m.HEADER_CALLER] = one.delivery.user_id
        body = codec.encode(rows, one.decoded.many)
        return StoredResult(one.key, one.delivery.body_sha256, body, codec.content_type, headers)


def _isolate(pending: list[_Pending], error: Exception) -> list[list[_Pending]]:
    """How to re-score a batch that failed as a whole, so that one request cannot sink the others.

    A failure no retry fixes: every message alone. A transient one: the messages that failed before (the
    suspects) alone, the fresh ones together; a batch of fresh messages is simply retried as it is, so a
    real outage costs one call per batch, not one per message.
    """
    if len(pending) == 1:
        return [pending]
    if disposition_of(error) == "dead-letter":
        return [[one] for one in pending]
    fresh: list[_Pending] = []
    suspects: list[_Pending] = []
    for one in pending:
        tried = one.delivery.redelivered or one.delivery.previous_deliveries > 0
        (suspects if tried else fresh).append(one)
    if not suspects:
        return [pending]
    return ([fresh] if fresh else []) + [[one] for one in suspects]


def _batch(pending: list[_Pending]) -> tuple[RecordBatch, MessageRef]:
    records: list[dict[str, Any]] = []
    message_ids: list[str] = []
    correlation_ids: list[str] = []
    for one in pending:
        count = len(one.decoded.records)
        records.extend(one.decoded.records)
        message_ids.extend([one.delivery.message_id or ""] * count)
        correlation_ids.extend([one.delivery.correlation_id or ""] * count)
    return _record_batch(records), MessageRef(message_ids, correlation_ids)


def _record_batch(records: list[dict[str, Any]]) -> RecordBatch:
    """``RecordBatch.from_records``, with a fast path for flat records (the usual JSON request): the same
    columns, without a per-value check for nested groups. Nested records take the general path."""
    if any(type(value) is dict for record in records for value in record.values()):
        return RecordBatch.from_records(records)
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {name: [record.get(name) for record in records] for name in names}
    return RecordBatch(columns=columns, record_numbers=np.arange(1, len(records) + 1, dtype=np.int64))


def _starts(pending: list[_Pending]) -> list[int]:
    """0-based index of each message's first row in the combined batch."""
    starts, total = [], 0
    for one in pending:
        starts.append(total)
        total += len(one.decoded.records)
    return starts


def _owner(starts: list[int], row: int) -> int:
    """The position of the message that row ``row`` (0-based) came from."""
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= row:
            low = middle
        else:
            high = middle - 1
    return low


def _replay(delivery: Delivery, stored: StoredResult) -> Outcome:
    if stored.request_sha256 != delivery.body_sha256:
        reason = PoisonMessage(f"request id {delivery.key!r} was already used for a different request body")
        return DeadLetter(delivery, f"PoisonMessage: {reason.reason}", "poison")
    return Reply(delivery, stored, replayed=True)


def _follow(delivery: Delivery, leader: Outcome | None) -> Outcome:
    """A repeat of a request in the same batch shares its leader's outcome."""
    if isinstance(leader, Reply):
        return _replay(delivery, leader.result)
    if isinstance(leader, DeadLetter):
        return DeadLetter(delivery, leader.reason, leader.kind)
    assert leader is not None
    return type(leader)(delivery, leader.reason)


def _check_encoding(delivery: Delivery) -> None:
    encoding = (delivery.content_encoding or "").strip().lower()
    if encoding not in ("", "identity", "utf-8", "utf8"):
        raise PoisonMessage(f"content encoding {delivery.content_encoding!r} is not supported")
