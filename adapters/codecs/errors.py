"""Errors of the record codecs: every one says what was wrong and exactly where.

* :class:`RecordDecodeError` (and subclasses): one record's bytes do not match its layout. It carries the
  field path (``CLAIM-REC.ACCT.BALANCE``), the byte offset of the field inside the record, the record
  number (1-based, in file order), the offending bytes and what was expected versus found. Framing errors
  (a bad record descriptor word, a short final record) carry the byte offset in the input instead.
* :class:`RecordEncodeError` (and subclasses): a value cannot be written into its field (it overflows the
  PICTURE, or the code page cannot represent it). Never silently truncated.
* :class:`CopybookSyntaxError`: the copybook itself is wrong or uses something unsupported; raised at load
  time with line and column.

These errors never cross the wire; pipelines turn them into reject lines or dead-letter reasons from the
same attributes. ``str(error)`` is a one-line message fit for a caller, with no traceback.

Example::

    >>> err = InvalidPackedData("bad sign nibble", field="REC.AMT", offset=4, data=b"\\x12\\x3b",
    ...                         expected="C or D", found="0")
    >>> str(err.at_record(7))
    'record 7, field REC.AMT at offset 4, bytes 12 3B: bad sign nibble (expected C or D, found 0)'
"""

from __future__ import annotations

import copy

__all__ = [
    "BadRecordDescriptor",
    "CodecError",
    "CopybookSyntaxError",
    "DependingOnOutOfRange",
    "EncodeOverflow",
    "InvalidNumericData",
    "InvalidPackedData",
    "InvalidZonedData",
    "RecordDecodeError",
    "RecordEncodeError",
    "RecordLengthError",
    "TrailerMismatch",
    "UnmappableCharacter",
    "UnrepresentableValue",
]

_MAX_HEX_BYTES = 32  # longer byte strings are cut in messages (the attribute keeps them whole)


def _hex(data: bytes) -> str:
    shown = data[:_MAX_HEX_BYTES].hex(" ").upper()
    return shown + (" ..." if len(data) > _MAX_HEX_BYTES else "")


class CodecError(Exception):
    """Root of the codec errors. ``reason`` is the bare description; ``str()`` adds the location."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class _RecordError(CodecError):
    """Shared location handling of decode and encode errors."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        record: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.field = field
        self.offset = offset
        self.record = record
        self.expected = expected
        self.found = found

    def at_record(self, record: int) -> _RecordError:
        """A copy of this error that names the (1-based) record number; the original is unchanged."""
        clone = copy.copy(self)
        clone.record = record
        return clone

    def _location(self) -> list[str]:
        parts = []
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field is not None:
            where = f"field {self.field}"
            if self.offset is not None:
                where += f" at offset {self.offset}"
            parts.append(where)
        elif self.offset is not None:
            parts.append(f"offset {self.offset}")
        return parts

    def _detail(self) -> str:
        if self.expected is not None and self.found is not None:
            return f"{self.reason} (expected {self.expected}, found {self.found})"
        if self.expected is not None:
            return f"{self.reason} (expected {self.expected})"
        return self.reason

    def __str__(self) -> str:
        location = ", ".join(self._location())
        return f"{location}: {self._detail()}" if location else self._detail()


class RecordDecodeError(_RecordError):
    """A record's bytes do not decode under its layout.

    ``offset`` is the field's byte offset inside the record (0-based), or for framing errors the byte
    offset in the input (``file_offset``). ``data`` holds the offending bytes; ``hex`` shows them.
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        record: int | None = None,
        data: bytes = b"",
        expected: str | None = None,
        found: str | None = None,
        file_offset: int | None = None,
    ) -> None:
        super().__init__(reason, field=field, offset=offset, record=record, expected=expected, found=found)
        self.data = bytes(data)
        self.file_offset = file_offset

    @property
    def hex(self) -> str:
        """The offending bytes as upper-case hex pairs separated by spaces (``"12 3B"``)."""
        return _hex(self.data)

    def _location(self) -> list[str]:
        parts = super()._location()
        if self.file_offset is not None:
            parts.append(f"input byte offset {self.file_offset}")
        if self.data:
            parts.append(f"bytes {self.hex}")
        return parts


class InvalidNumericData(RecordDecodeError):
    """A numeric field holds bytes that are not a number of its kind (edited or float fields too)."""


class InvalidPackedData(InvalidNumericData):
    """A COMP-3 field has a digit nibble above 9 or a sign nibble other than C, A, E, F, B, D."""


class InvalidZonedData(InvalidNumericData):
    """A zoned (DISPLAY) numeric field has a non-digit byte or a sign the picture does not allow."""


class RecordLengthError(RecordDecodeError):
    """A record is shorter or longer than its layout allows, or the input ends inside a record."""


class UnmappableCharacter(RecordDecodeError):
    """A text field holds bytes that the configured code page cannot decode."""


class DependingOnOutOfRange(RecordDecodeError):
    """An OCCURS ... DEPENDING ON counter is outside the table's minimum..maximum."""


class BadRecordDescriptor(RecordDecodeError):
    """A record or block descriptor word (RDW/BDW) is malformed; ``file_offset`` says where it starts."""


class TrailerMismatch(RecordDecodeError):
    """The trailer's record count disagrees with the number of records read."""


class RecordEncodeError(_RecordError):
    """A value cannot be written into its field. ``value`` is the offending value as given."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        record: int | None = None,
        value: object = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(reason, field=field, offset=offset, record=record, expected=expected, found=found)
        self.value = value


class EncodeOverflow(RecordEncodeError):
    """The value has more integer digits, or more fraction digits, than the PICTURE holds."""


class UnrepresentableValue(RecordEncodeError):
    """The value has the wrong type, is missing, or holds characters the code page cannot encode."""


class CopybookSyntaxError(CodecError):
    """The copybook cannot be compiled. ``line`` and ``column`` are 1-based positions in its text."""

    def __init__(
        self,
        reason: str,
        *,
        line: int,
        column: int,
        expected: str | None = None,
        found: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        self.source = source

    def __str__(self) -> str:
        where = f"{self.source}:" if self.source else ""
        text = f"{where}line {self.line}, column {self.column}: {self.reason}"
        if self.expected is not None and self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        elif self.expected is not None:
            text += f" (expected {self.expected})"
        return text
