"""Record framing (RECFM): split a byte stream into records, and join records into one.

Formats:

* ``F`` / ``FB``: fixed-length records back to back (``record_length`` bytes each).
* ``V``: each record preceded by a 4-byte record descriptor word (RDW). IBM's RDW (the default) holds the
  length big-endian in bytes 0-1, counting its own 4 bytes, and zeros in bytes 2-3. ``rdw_order="little"``
  reads a little-endian length, ``rdw_includes_header=False`` a length that counts the data only; the
  length may sit in either half of the word (``hi lo 00 00`` or ``00 00 hi lo``), as the tools that write
  these variants differ, but one half must be zero.
* ``VB``: blocks, each led by a block descriptor word (BDW: the block length including its 4 bytes, in the
  RDW byte order; bit 31 set means a 4-byte extended length), holding V records.
* ``text``: newline-terminated records (``\\r\\n`` accepted) for ASCII exports.

``skip_header`` / ``skip_trailer`` bytes at the start and end of the input are not records; the trailer's
bytes are kept (``RecordReader.trailer``) so that a caller can check a trailer record count. The reader
streams in ``chunk_size`` pieces and never holds more than a chunk plus one record plus the trailer.
Spanned records (VS/VBS segments) are not supported and are reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from adapters.codecs.errors import BadRecordDescriptor, RecordLengthError

__all__ = ["Framing", "RawRecord", "RecordFormat", "RecordReader", "RecordWriter"]

RecordFormat = Literal["F", "FB", "V", "VB", "text"]
ByteOrder = Literal["big", "little"]


@dataclass(frozen=True, slots=True)
class Framing:
    """How records are laid out in the input. ``record_length`` is required for ``F``/``FB``."""

    record_format: RecordFormat = "F"
    record_length: int | None = None
    rdw_order: ByteOrder = "big"
    rdw_includes_header: bool = True
    skip_header: int = 0
    skip_trailer: int = 0
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        if self.record_format in ("F", "FB") and not (self.record_length and self.record_length > 0):
            raise ValueError(f"record format {self.record_format} needs a positive record length")
        if self.skip_header < 0 or self.skip_trailer < 0 or self.chunk_size <= 0:
            raise ValueError("header, trailer and chunk sizes must not be negative")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record's bytes, its 1-based number and the input byte offset where its data starts."""

    number: int
    offset: int
    data: bytes


class _Input:
    """A chunked reader that always holds back the last ``reserve`` bytes (the trailer)."""

    def __init__(
        self, source: BinaryIO | bytes | bytearray | memoryview, chunk_size: int, reserve: int
    ) -> None:
        self._stream = None if isinstance(source, bytes | bytearray | memoryview) else source
        self._buffer = bytearray() if self._stream is not None else bytearray(source)  # type: ignore[arg-type]
        self._eof = self._stream is None
        self._chunk = chunk_size
        self._reserve = reserve
        self.offset = 0  # input offset of _buffer[0]

    def _fill(self, wanted: int) -> int:
        """Bytes available for records (the reserve excluded), reading until ``wanted`` or the end."""
        while not self._eof and len(self._buffer) < wanted + self._reserve:
            assert self._stream is not None
            chunk = self._stream.read(max(self._chunk, wanted + self._reserve - len(self._buffer)))
            if not chunk:
                self._eof = True
            self._buffer += chunk
        return max(0, len(self._buffer) - self._reserve)

    def take(self, size: int, what: str) -> bytes | None:
        """Exactly ``size`` bytes, or None at the end of the records; a partial read is an error."""
        available = self._fill(size)
        if available == 0 and size > 0:
            return None
        if available < size:
            raise RecordLengthError(
                f"input ends inside {what}",
                file_offset=self.offset,
                data=bytes(self._buffer[: min(available, 32)]),
                expected=f"{size} bytes",
                found=f"{available} bytes",
            )
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.offset += size
        return data

    def line(self) -> bytes | None:
        """The next newline-terminated line without its terminator, or None at the end."""
        start = 0
        while True:
            available = self._fill(start + self._chunk)
            end = self._buffer.find(b"\n", start, available)
            if end >= 0:
                data = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self.offset += end + 1
                return data.removesuffix(b"\r")
            if self._eof:
                return self.take(available, "a line") if available else None
            start = available

    def rest(self) -> bytes:
        self._fill(0)
        while not self._eof:
            self._fill(len(self._buffer) + self._chunk)
        return bytes(self._buffer)


class RecordReader:
    """Iterates the records of a stream (or bytes) under a :class:`Framing`.

    Raises ``BadRecordDescriptor`` for a malformed RDW/BDW and ``RecordLengthError`` when the input ends
    inside a record, both naming the input byte offset. After iteration, ``trailer`` holds the skipped
    trailer bytes and ``count`` the number of records read.
    """

    def __init__(self, source: BinaryIO | bytes | bytearray | memoryview, framing: Framing) -> None:
        self.framing = framing
        self._input = _Input(source, framing.chunk_size, framing.skip_trailer)
        self.trailer = b""
        self.count = 0

    def __iter__(self) -> Iterator[RawRecord]:
        framing = self.framing
        if framing.skip_header and self._input.take(framing.skip_header, "the file header") is None:
            raise RecordLengthError("input is shorter than its header", file_offset=0)
        records = {
            "F": self._fixed,
            "FB": self._fixed,
            "V": self._variable,
            "VB": self._blocked,
            "text": self._lines,
        }[framing.record_format]()
        for offset, data in records:
            self.count += 1
            yield RawRecord(self.count, offset, data)
        self.trailer = self._input.rest()
        if len(self.trailer) < framing.skip_trailer:
            raise RecordLengthError(
                "input is shorter than its trailer",
                file_offset=self._input.offset,
                expected=f"{framing.skip_trailer} trailer bytes",
                found=f"{len(self.trailer)} bytes",
            )

    def _fixed(self) -> Iterator[tuple[int, bytes]]:
        length = self.framing.record_length
        assert length is not None
        while (data := self._take(length, "a fixed-length record")) is not None:
            yield data

    def _take(self, size: int, what: str) -> tuple[int, bytes] | None:
        offset = self._input.offset
        data = self._input.take(size, what)
        return None if data is None else (offset, data)

    def _variable(self, limit: int | None = None) -> Iterator[tuple[int, bytes]]:
        """V records; within a VB block, ``limit`` is the input offset where the block ends."""
        while limit is None or self._input.offset < limit:
            offset = self._input.offset
            word = self._input.take(4, "a record descriptor word")
            if word is None:
                return
            length = rdw_length(word, self.framing, offset)
            if limit is not None and offset + 4 + length > limit:
                raise BadRecordDescriptor(
                    "record runs past the end of its block", file_offset=offset, data=word,
                    expected=f"at most {limit - offset - 4} bytes", found=f"{length} bytes",
                )  # fmt: skip
            data = self._input.take(length, "a variable-length record")
            if data is None:
                raise RecordLengthError(
                    "input ends after a record descriptor word", file_offset=offset, data=word
                )
            yield offset + 4, data

    def _blocked(self) -> Iterator[tuple[int, bytes]]:
        while True:
            offset = self._input.offset
            word = self._input.take(4, "a block descriptor word")
            if word is None:
                return
            length = bdw_length(word, self.framing.rdw_order, offset)
            yield from self._variable(limit=offset + length)

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        while True:
            offset = self._input.offset
            line = self._input.line()
            if line is None:
                return
            yield offset, line


def rdw_length(word: bytes, framing: Framing, offset: int) -> int:
    """The data length an RDW announces. Raises ``BadRecordDescriptor`` naming the offset and bytes."""
    order = framing.rdw_order
    first, second = int.from_bytes(word[:2], order), int.from_bytes(word[2:], order)
    if first and second:
        spanned = order == "big" and word[2] in (1, 2, 3) and word[3] == 0
        reason = (
            "spanned record segments (VS/VBS) are not supported"
            if spanned
            else "malformed record descriptor word"
        )
        raise BadRecordDescriptor(
            reason, file_offset=offset, data=word, expected="one zero half (hi lo 00 00)"
        )
    length = first or second
    if framing.rdw_includes_header:
        if length < 4:
            raise BadRecordDescriptor(
                "record descriptor word length is less than 4", file_offset=offset, data=word,
                expected="a length that counts the 4 RDW bytes", found=str(length),
            )  # fmt: skip
        return length - 4
    return length


def bdw_length(word: bytes, order: ByteOrder, offset: int) -> int:
    """The length of a block (including its 4-byte BDW)."""
    if order == "big" and word[0] & 0x80:
        length = int.from_bytes(word, "big") & 0x7FFFFFFF  # extended BDW
    else:
        if int.from_bytes(word[2:], order) != 0:
            raise BadRecordDescriptor(
                "malformed block descriptor word", file_offset=offset, data=word, expected="bytes 2-3 zero"
            )
        length = int.from_bytes(word[:2], order)
    if length < 8:
        raise BadRecordDescriptor(
            "block descriptor word length is too small", file_offset=offset, data=word,
            expected="at least 8 (BDW plus one RDW)", found=str(length),
        )  # fmt: skip
    return length


class RecordWriter:
    """Writes records to a caller-supplied binary stream under a :class:`Framing`.

    ``F``/``FB`` records shorter than ``record_length`` are padded with ``pad`` (the code page's space);
    longer ones raise ``ValueError``. ``VB`` packs records into blocks of at most ``block_size`` bytes;
    call :meth:`close` to write the last block.
    """

    def __init__(
        self, sink: BinaryIO, framing: Framing, *, pad: bytes = b" ", block_size: int = 32760
    ) -> None:
        self._sink = sink
        self.framing = framing
        self._pad = pad
        self._block_size = block_size
        self._block = bytearray()

    def write(self, record: bytes) -> None:
        framing = self.framing
        if framing.record_format in ("F", "FB"):
            length = framing.record_length or len(record)
            if len(record) > length:
                raise ValueError(f"record of {len(record)} bytes is longer than the record length {length}")
            self._sink.write(record + self._pad * (length - len(record)))
        elif framing.record_format == "text":
            self._sink.write(record + b"\n")
        elif framing.record_format == "V":
            self._sink.write(self._rdw(len(record)) + record)
        else:
            entry = self._rdw(len(record)) + record
            if self._block and 4 + len(self._block) + len(entry) > self._block_size:
                self._flush()
            self._block += entry

    def _rdw(self, length: int) -> bytes:
        total = length + (4 if self.framing.rdw_includes_header else 0)
        if total > 0xFFFF:
            raise ValueError(f"record of {length} bytes is too long for a record descriptor word")
        return total.to_bytes(2, self.framing.rdw_order) + b"\x00\x00"

    def _flush(self) -> None:
        if self._block:
            self._sink.write((len(self._block) + 4).to_bytes(2, self.framing.rdw_order) + b"\x00\x00")
            self._sink.write(self._block)
            self._block.clear()

    def close(self) -> None:
        """Write any pending VB block. The sink itself stays open (the caller owns it)."""
        self._flush()
