"""Records from a stream: framing, per-record decoding under the caller's error policy, trailer check.

``decode_stream`` yields, in input order, a :class:`DecodedRecord` for every record that decoded (under
``on_error="null"`` possibly with nulled fields and their errors) and a :class:`Rejected` for every record
that did not under ``on_error="reject"``. Under ``on_error="fail"`` the first bad record raises. Framing
errors (a bad RDW, an input that ends inside a record) always raise: nothing after them can be trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from adapters.codecs.copybook.codepages import Codepage
from adapters.codecs.copybook.framing import Framing, RecordReader
from adapters.codecs.copybook.layout import Layout
from adapters.codecs.copybook.options import DecodeOptions
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.errors import RecordDecodeError, TrailerMismatch

__all__ = ["DecodedRecord", "Rejected", "TrailerCheck", "check_trailer", "decode_stream"]


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    number: int  # 1-based record number in the input
    offset: int  # input byte offset of the record's data
    values: dict[str, Any]
    errors: tuple[RecordDecodeError, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    number: int
    offset: int
    data: bytes
    error: RecordDecodeError


@dataclass(frozen=True, slots=True)
class TrailerCheck:
    """The trailer (``Framing.skip_trailer`` bytes) is a record of ``layout`` whose ``count_field`` holds
    the number of data records; a different number of records read is a ``TrailerMismatch``."""

    layout: Layout
    count_field: str


def decode_stream(
    source: BinaryIO | bytes | bytearray | memoryview,
    decoder: RecordDecoder,
    framing: Framing,
    *,
    trailer: TrailerCheck | None = None,
) -> Iterator[DecodedRecord | Rejected]:
    """Decode every record of ``source`` (see the module docstring for the error policy)."""
    reader = RecordReader(source, framing)
    reject = decoder.options.on_error == "reject"
    for raw in reader:
        try:
            decoded = decoder.decode(raw.data, raw.number)
        except RecordDecodeError as exc:
            if not reject:
                raise
            yield Rejected(raw.number, raw.offset, raw.data, exc)
            continue
        yield DecodedRecord(raw.number, raw.offset, decoded.values, decoded.errors)
    if trailer is not None:
        check_trailer(trailer, reader.trailer, reader.count, decoder.options.codepage)


def check_trailer(check: TrailerCheck, trailer: bytes, count: int, codepage: Codepage) -> None:
    """Raise TrailerMismatch unless ``trailer``'s count field holds ``count`` (the data records read)."""
    field = check.layout.field(check.count_field)
    if len(trailer) < field.offset + field.size:
        raise TrailerMismatch(
            "the trailer is too short to hold its record count",
            field=field.qualified_name,
            data=trailer,
            expected=f"{field.offset + field.size} bytes",
            found=f"{len(trailer)} bytes",
        )
    options = DecodeOptions(codepage=codepage, on_error="fail")
    values: Any = RecordDecoder(check.layout, options).decode(trailer).values
    for name in field.path[1:]:
        values = values[name]
    if values != count:
        raise TrailerMismatch(
            "trailer record count does not match the records read",
            field=field.qualified_name,
            offset=field.offset,
            data=trailer[field.offset : field.offset + field.size],
            expected=f"{values} records",
            found=f"{count} records",
        )
