"""Request and result messages as plain data: what a delivery carries, how its body becomes records and how
results become a body. No pika here: the consumer copies what it needs out of pika's frames into
:class:`Delivery`, so batching, decoding and dispositions are testable without a broker.

Request bodies are chosen by content type from an allow-list (never unpickled, never ``eval``-ed):
``application/json`` holds one record object or a list of them; ``application/octet-stream`` holds one or
more fixed-width copybook records (when the pipeline has a copybook). A message without a content type is
read in the pipeline's configured input format. Anything else is a :class:`PoisonMessage`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from adapters.amqp.errors import PoisonMessage

__all__ = [
    "HEADER_CALLER",
    "HEADER_DELIVERIES",
    "HEADER_ERROR",
    "HEADER_ERROR_KIND",
    "HEADER_MODEL",
    "HEADER_MODEL_SHA256",
    "HEADER_MODEL_VERSION",
    "HEADER_RECORDS",
    "HEADER_REQUEST_MESSAGE_ID",
    "HEADER_SOURCE_QUEUE",
    "JSON",
    "DecodedRequest",
    "Delivery",
    "JsonRecords",
    "ReplyEncoder",
    "RequestDecoder",
    "codec_for",
]

HEADER_MODEL = "x-bridgeway-model"
HEADER_MODEL_VERSION = "x-bridgeway-model-version"
HEADER_MODEL_SHA256 = "x-bridgeway-model-sha256"
HEADER_REQUEST_MESSAGE_ID = "x-bridgeway-request-message-id"
HEADER_CALLER = "x-bridgeway-caller"
HEADER_RECORDS = "x-bridgeway-records"
HEADER_ERROR = "x-bridgeway-error"
HEADER_ERROR_KIND = "x-bridgeway-error-kind"
HEADER_SOURCE_QUEUE = "x-bridgeway-source-queue"
HEADER_DELIVERIES = "x-bridgeway-deliveries"

JSON = "application/json"
_MAX_REASON = 1_000  # characters of a dead-letter reason header; the log has the rest


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request as delivered: its body, the properties we use, and where it is to be settled.

    ``tag`` is the delivery tag on the channel of ``generation`` (a counter the consumer increments per
    channel): a delivery can only be acked on the channel that delivered it.
    """

    tag: int
    generation: int
    body: bytes
    content_type: str | None = None
    content_encoding: str | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    user_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    redelivered: bool = False

    @property
    def key(self) -> str | None:
        """The request's stable id for duplicate detection: ``message_id``, else ``correlation_id``."""
        return self.message_id or self.correlation_id or None

    @property
    def reply_correlation_id(self) -> str | None:
        """The correlation id a reply carries: the request's, else its message id."""
        return self.correlation_id or self.message_id or None

    @property
    def previous_deliveries(self) -> int:
        """Failed deliveries before this one, from the quorum queue's ``x-delivery-count`` header."""
        count = self.headers.get("x-delivery-count", 0)
        return count if isinstance(count, int) and count >= 0 else 0

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class DecodedRequest:
    """The records of one request, and whether the reply is a list (``many``) or one object."""

    records: list[dict[str, Any]]
    many: bool


class RequestDecoder(Protocol):
    """Request body -> records, for one format."""

    content_type: str

    def decode(self, body: bytes, max_records: int) -> DecodedRequest:
        """Raise PoisonMessage, naming what was wrong and where, when the body cannot be read."""
        ...


class ReplyEncoder(Protocol):
    """Result rows (one per request record, in order) -> reply body, for one format."""

    content_type: str

    def encode(self, rows: Sequence[Mapping[str, Any]], many: bool) -> bytes:
        """``many``: the request was a list (JSON replies mirror it). Raise PoisonMessage when the rows
        cannot be written in this format."""
        ...


class JsonRecords:
    """``application/json``: one record object, or a list of record objects (reply in the same shape)."""

    content_type = JSON

    def decode(self, body: bytes, max_records: int) -> DecodedRequest:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PoisonMessage(f"body is not UTF-8: invalid byte at offset {exc.start}") from exc
        try:
            value = json.loads(text, parse_constant=_no_constants)
        except json.JSONDecodeError as exc:
            raise PoisonMessage(
                f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
        except ValueError as exc:  # NaN / Infinity literals, refused by _no_constants
            raise PoisonMessage(f"body is not JSON: {exc}") from exc
        if isinstance(value, dict):
            return DecodedRequest([value], many=False)
        if not isinstance(value, list):
            raise PoisonMessage(f"expected a JSON object or a list of objects, got {_json_kind(value)}")
        if not value:
            raise PoisonMessage("expected a JSON object or a list of objects, got an empty list")
        if len(value) > max_records:
            raise PoisonMessage(f"{len(value)} records in one message; at most {max_records} are accepted")
        for number, record in enumerate(value, start=1):
            if not isinstance(record, dict):
                raise PoisonMessage(
                    f"record {number} of the list is {_json_kind(record)}, expected an object"
                )
        return DecodedRequest(value, many=True)

    def encode(self, rows: Sequence[Mapping[str, Any]], many: bool) -> bytes:
        payload: Any = list(rows) if many else rows[0]
        try:
            return _dumps(payload)
        except (ValueError, TypeError):  # NaN/infinity or a Decimal somewhere: the slow, careful way
            return _dumps([_plain(row) for row in rows] if many else _plain(rows[0]))


def codec_for(
    content_type: str | None,
    allowed: Sequence[str],
    codecs: Mapping[str, RequestDecoder],
    default: RequestDecoder,
) -> RequestDecoder:
    """The codec for a request's content type (parameters such as ``; charset=utf-8`` ignored).

    No content type: ``default`` (the pipeline's input format). Raises PoisonMessage when the type is not on
    the allow-list or has no codec in this pipeline.
    """
    if not content_type:
        return default
    media = content_type.split(";", 1)[0].strip().lower()
    codec = codecs.get(media)
    if media not in allowed or codec is None:
        usable = ", ".join(t for t in allowed if t in codecs) or "(none)"
        raise PoisonMessage(f"content type {content_type!r} is not accepted; accepted: {usable}")
    return codec


def clip_reason(reason: str) -> str:
    """A reason short enough for a header (the full text is logged)."""
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_kind(value: Any) -> str:
    kinds: dict[type, str] = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    return kinds.get(type(value), type(value).__name__)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready values: non-finite floats become null (JSON has no NaN), decimals numbers."""
    return {name: _plain_value(value) for name, value in row.items()}


_CONVERT: dict[type, Callable[[Any], Any]] = {Decimal: lambda d: int(d) if d == d.to_integral() else float(d)}


def _plain_value(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    convert = _CONVERT.get(type(value))
    return convert(value) if convert else value
