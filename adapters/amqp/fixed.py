"""Fixed-width copybook records in message bodies (``application/octet-stream``).

A request body holds one or more records of the input copybook, framed as ``input.record_format`` says
(``F`` by default: records back to back, each ``record_length`` bytes, the layout's length unless given).
A reply body holds one record of the result copybook per request record, in the same order (the
``adapters.codecs.fixed`` writer: each named result field takes the result column of the same name).

Any record that does not decode makes the whole message poison, with the record number, field, offset and
bytes in the reason (a mainframe message is a unit: half of it is not an answer). Trailers are a file
convention and are not accepted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.amqp.errors import PoisonMessage
from adapters.amqp.messages import DecodedRequest
from adapters.codecs.copybook import (
    DecodeOptions,
    Framing,
    RecordDecoder,
    Rejected,
    decode_stream,
    get_codepage,
    parse_copybook,
)
from adapters.codecs.errors import RecordDecodeError
from adapters.codecs.fixed import FixedWriter
from adapters.config_formats import FixedInput, FixedOutput

__all__ = ["OCTET_STREAM", "FixedRecords", "FixedResults"]

OCTET_STREAM = "application/octet-stream"


class FixedRecords:
    """Request bodies of copybook records -> records (nested values, exact decimals)."""

    content_type = OCTET_STREAM

    def __init__(self, spec: FixedInput) -> None:
        if spec.trailer_copybook is not None:
            raise ValueError("input.trailer_copybook: trailers are a file convention, not used for messages")
        layout = parse_copybook(
            spec.copybook.read_text(encoding="utf-8"), record=spec.record, source=str(spec.copybook)
        )
        self._decoder = RecordDecoder(
            layout, DecodeOptions(codepage=get_codepage(spec.encoding), on_error="reject")
        )
        length = spec.record_length or (layout.record_length if spec.record_format in ("F", "FB") else None)
        self._framing = Framing(spec.record_format, length, spec.rdw_order, spec.rdw_includes_header)

    def decode(self, body: bytes, max_records: int) -> DecodedRequest:
        records: list[dict[str, Any]] = []
        try:
            for item in decode_stream(body, self._decoder, self._framing):
                if isinstance(item, Rejected):
                    raise PoisonMessage(str(item.error))
                records.append(item.values)
                if len(records) > max_records:
                    raise PoisonMessage(f"more than {max_records} records in one message")
        except RecordDecodeError as exc:  # framing: the body is not a whole number of records
            raise PoisonMessage(str(exc)) from exc
        if not records:
            raise PoisonMessage("the message holds no record")
        return DecodedRequest(records, many=len(records) > 1)

    def encode(self, rows: Sequence[Mapping[str, Any]], many: bool) -> bytes:
        raise TypeError("FixedRecords reads requests; replies are written by FixedResults")


class FixedResults:
    """Result rows -> records of the result copybook, one per row. A row that does not fit its record
    (overflow, a character the code page lacks) makes the reply poison for that request."""

    content_type = OCTET_STREAM

    def __init__(self, spec: FixedOutput, columns: Sequence[str]) -> None:
        layout = parse_copybook(
            spec.result_copybook.read_text(encoding="utf-8"),
            record=spec.record,
            source=str(spec.result_copybook),
        )
        codepage = get_codepage(spec.encoding)
        length = layout.record_length if spec.record_format in ("F", "FB") else None
        framing = Framing(spec.record_format, length, spec.rdw_order, spec.rdw_includes_header)
        self._writer = FixedWriter(layout, framing, codepage, columns)
        self._columns = tuple(columns)

    def decode(self, body: bytes, max_records: int) -> DecodedRequest:
        raise TypeError("FixedResults writes replies; requests are read by FixedRecords")

    def encode(self, rows: Sequence[Mapping[str, Any]], many: bool) -> bytes:
        columns = {name: [row.get(name) for row in rows] for name in self._columns}
        body = self._writer.encode(columns)
        if self._writer.failures:
            row, field, reason = self._writer.failures[0]
            raise PoisonMessage(
                f"result record {row + 1} does not fit the result copybook ({field}): {reason}"
            )
        return body
