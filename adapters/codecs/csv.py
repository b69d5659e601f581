"""Delimited text records (CSV): a chunked columnar reader and a columnar writer.

Reading uses pandas' C parser, because tokenising and number parsing in C is what makes a file pipeline as
fast as a hand-written pandas script. The reader reads the header line itself first (through the csv
module), so that it can tell pandas which fields to parse as numbers and which to keep as text exactly as
written (claim ids with leading zeros, amounts with their trailing zeros). Fields nobody asked for are not
turned into numbers.

Record numbers are 1-based over the data records (the header line is not a record; a quoted field spanning
lines is still one record; a blank line is a record with no values). A record with more fields than the
header is reported as a :class:`BadRecord` and the records around it are read normally. Text that does
not decode under the configured encoding, or an unterminated quoted field, makes the whole input invalid:
:class:`CsvDecodeError`.

Writing renders each column with one vectorised conversion (numbers) or one pass over its values (text),
quotes only what needs quoting under the dialect, and joins rows once per chunk.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, Literal

import numpy as np
import pandas as pd

from adapters.codecs.chunks import BadRecord, DecodedChunk
from adapters.codecs.errors import RecordDecodeError, RecordEncodeError

__all__ = ["CsvDecodeError", "CsvDialect", "CsvEncodeError", "CsvReader", "CsvWriter"]

Quoting = Literal["minimal", "all", "nonnumeric", "none"]

_QUOTING: dict[str, Literal[0, 1, 2, 3]] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}
# Tokens read as "no value" in numeric fields; text fields keep every token as written.
_NA_TOKENS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "-"]
_SKIPPED = re.compile(r"Skipping line (\d+): (.+)")
_HEADER_LIMIT = 16 << 20
_BLOCK = 1 << 16

# warnings.catch_warnings swaps process-wide state, and pandas reports malformed lines only as warnings.
# Readers in several threads therefore take turns around each chunk parse (which holds the GIL anyway).
_WARNINGS_LOCK = threading.Lock()


class CsvDecodeError(RecordDecodeError):
    """The input as a whole is not readable CSV under the dialect (encoding, quoting, header)."""


class CsvEncodeError(RecordEncodeError):
    """A value cannot be written under the dialect (unquotable text, a character the encoding lacks)."""


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How the text is laid out. ``columns`` names the fields when ``header`` is False. ``decimal`` is
    the decimal mark of numbers. ``newline`` ends each written line. The encoding must be ASCII-compatible
    (utf-8, cp1252, latin-1, ...): the reader finds line ends and delimiters as bytes."""

    delimiter: str = ","
    quotechar: str = '"'
    quoting: Quoting = "minimal"
    header: bool = True
    columns: tuple[str, ...] = ()
    decimal: str = "."
    encoding: str = "utf-8"
    newline: str = "\n"

    def __post_init__(self) -> None:
        probe = self.delimiter + self.quotechar + "\n"
        if probe.encode(self.encoding) != probe.encode("ascii", "replace"):
            raise ValueError(f"encoding {self.encoding!r} is not ASCII-compatible; CSV needs one that is")


class CsvReader:
    """Reads a caller-opened binary stream in chunks of decoded records.

    ``wanted(name)`` says which fields to return (``None``: all); ``numeric(name)`` which of them to parse
    as numbers (float or int columns; a chunk where a value is not a number keeps that column as text, so
    the caller can reject just those records). All other fields are returned as ``str`` exactly as written.
    """

    def __init__(
        self,
        dialect: CsvDialect,
        *,
        wanted: Callable[[str], bool] | None = None,
        numeric: Callable[[str], bool] = lambda name: False,
    ) -> None:
        if not dialect.header and not dialect.columns:
            raise ValueError("reading CSV without a header needs the column names")
        self.dialect = dialect
        self._wanted = wanted
        self._numeric = numeric

    def chunks(self, stream: BinaryIO, rows: int) -> Iterator[DecodedChunk]:
        """Yield chunks of at most ``rows`` decoded records, in input order; at least one chunk.

        Raises CsvDecodeError for an input that is not readable as a whole.
        """
        if rows < 1:
            raise ValueError(f"chunk size must be at least 1 record, got {rows}")
        names, body = self._fields(stream)
        if names is None:  # an empty input: no header, no records
            yield DecodedChunk({}, np.empty(0, dtype=np.int64), fields=tuple(self.dialect.columns))
            return
        used = [n for n in names if self._wanted is None or self._wanted(n)]
        frames = self._frames(body, names, used, rows)
        numbering = _Numbering()
        produced = False
        for frame, skipped in frames:
            numbers, bad = numbering.assign(len(frame), skipped)
            columns = {name: frame[name].to_numpy() for name in used}
            produced = True
            yield DecodedChunk(columns, numbers, bad, tuple(names))
        if not produced:
            yield DecodedChunk(
                {n: np.empty(0, dtype=object) for n in used}, np.empty(0, np.int64), [], tuple(names)
            )

    def _fields(self, stream: BinaryIO) -> tuple[list[str] | None, BinaryIO]:
        """The field names, and a stream that yields the whole input again (header included)."""
        dialect = self.dialect
        prefix = _read_first_record(stream, dialect.quotechar.encode(dialect.encoding))
        body = io.BufferedReader(_Prepended(prefix, stream), buffer_size=1 << 20)  # type: ignore[arg-type]
        if not dialect.header:
            return list(dialect.columns), body
        if not prefix.strip(b"\r\n"):
            return None, body
        names = _parse_header(prefix, dialect)
        return names, body

    def _frames(
        self, body: BinaryIO, names: list[str], used: list[str], rows: int
    ) -> Iterator[tuple[pd.DataFrame, list[tuple[int, str]]]]:
        """DataFrame chunks, each with the malformed lines pandas skipped while reading it."""
        dialect = self.dialect
        numeric = {n for n in used if self._numeric(n)}
        options: dict[str, Any] = {
            "sep": dialect.delimiter,
            "quotechar": dialect.quotechar,
            "quoting": _QUOTING[dialect.quoting],
            "decimal": dialect.decimal,
            "encoding": dialect.encoding,
            "encoding_errors": "strict",
            "header": 0 if dialect.header else None,
            "names": None if dialect.header else names,
            # Every field is parsed even when only some are used: with ``usecols`` pandas stops reporting
            # records that have more fields than the header.
            "dtype": {n: str for n in names if n not in numeric},
            "keep_default_na": False,
            "na_values": {n: _NA_TOKENS for n in numeric},
            "skip_blank_lines": False,
            "on_bad_lines": "warn",
            "engine": "c",
            "chunksize": rows,
        }
        header_lines = 1 if dialect.header else 0
        reader = _guarded(lambda: pd.read_csv(body, **options), header_lines)[0]
        with reader:
            while True:
                frame, skipped = _guarded(lambda: next(reader, None), header_lines)
                if frame is None:
                    if skipped:
                        yield pd.DataFrame({n: np.empty(0, dtype=object) for n in used}), skipped
                    return
                yield frame, skipped


def _guarded(call: Callable[[], Any], header_lines: int) -> tuple[Any, list[tuple[int, str]]]:
    """Run one pandas parse step, collecting the lines it skipped as (record number, reason)."""
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            result = call()
        except UnicodeDecodeError as exc:
            raise CsvDecodeError(f"text is not valid {exc.encoding}: {exc.reason}") from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise CsvDecodeError(_parser_reason(exc)) from exc
    skipped: list[tuple[int, str]] = []
    for item in caught:
        lines = [_SKIPPED.match(line.strip()) for line in str(item.message).splitlines() if line.strip()]
        if issubclass(item.category, pd.errors.ParserWarning) and lines and all(lines):
            skipped += [(int(m.group(1)) - header_lines, m.group(2)) for m in lines if m]
        else:  # not ours: hand it back to whoever was listening
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return result, skipped


def _parser_reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text.removeprefix("Error tokenizing data. C error: ")


class _Numbering:
    """Assigns record numbers to the rows of successive chunks, around the records pandas skipped."""

    def __init__(self) -> None:
        self._next = 1

    def assign(self, n_rows: int, skipped: list[tuple[int, str]]) -> tuple[np.ndarray, list[BadRecord]]:
        bad_numbers = sorted({number for number, _ in skipped if number >= self._next})
        span = np.arange(self._next, self._next + n_rows + len(bad_numbers), dtype=np.int64)
        if bad_numbers:
            span = span[~np.isin(span, bad_numbers)]
        numbers = span[:n_rows]
        top = max([int(numbers[-1]) if n_rows else 0, *bad_numbers, self._next - 1])
        self._next = top + 1
        bad = [BadRecord(number, "", reason) for number, reason in sorted(skipped) if number in bad_numbers]
        return numbers, bad


def _read_first_record(stream: BinaryIO, quote: bytes) -> bytes:
    """Read from ``stream`` until the first record (header) is complete: a line end outside quotes.

    Returns everything read, which may run past the header; the caller replays it.
    """
    buffer = bytearray()
    searched = 0
    while True:
        block = stream.read(_BLOCK)
        if block:
            buffer += block
        end = buffer.find(b"\n", searched)
        while end >= 0:
            if buffer.count(quote, 0, end) % 2 == 0:
                return bytes(buffer)
            end = buffer.find(b"\n", end + 1)
        searched = len(buffer)
        if not block:
            return bytes(buffer)
        if len(buffer) > _HEADER_LIMIT:
            raise CsvDecodeError("no end of the header line in the first 16 MiB", record=0)


def _parse_header(prefix: bytes, dialect: CsvDialect) -> list[str]:
    try:
        text = prefix.decode(dialect.encoding, errors="strict")
    except UnicodeDecodeError as exc:
        # The prefix may end inside a multi-byte character; only the header line has to decode.
        text = prefix[: exc.start].decode(dialect.encoding)
    text = text.removeprefix("\ufeff")
    quoting = _QUOTING[dialect.quoting]
    reader = csv.reader(
        io.StringIO(text), delimiter=dialect.delimiter, quotechar=dialect.quotechar, quoting=quoting
    )
    names = next(reader, [])
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise CsvDecodeError(
                f"the header names field {name!r} twice (columns {seen[name]} and {position})", record=0
            )
        seen[name] = position
    return names


class _Prepended(io.RawIOBase):
    """A raw stream that yields ``prefix`` and then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


class CsvWriter:
    """Encodes result columns as CSV text in the dialect's encoding.

    ``columns`` fixes the column order of the header and of every line. ``encode`` takes one array per
    column (any length, all equal) and returns the lines, each ending with the dialect's newline. Missing
    values (None, NaN) are written as empty fields.
    """

    def __init__(self, dialect: CsvDialect, columns: Sequence[str]) -> None:
        self.dialect = dialect
        self.columns = tuple(columns)

    def header(self) -> bytes:
        """The header line, or nothing when the dialect has no header."""
        if not self.dialect.header:
            return b""
        cells = self._quote([list(self.columns)], text_columns={0})[0]
        return self._encode(self.dialect.delimiter.join(cells) + self.dialect.newline, "header")

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """The lines for one chunk of results. Raises CsvEncodeError for a value the dialect cannot write."""
        missing = [c for c in self.columns if c not in values]
        if missing:
            raise KeyError(f"result column(s) {', '.join(missing)} not given")
        rendered: list[list[str]] = []
        text_columns: set[int] = set()
        for position, name in enumerate(self.columns):
            cells, is_text = _render(
                np.asarray(values[name]) if not isinstance(values[name], list) else values[name]
            )
            rendered.append(cells)
            if is_text:
                text_columns.add(position)
        if not rendered or not rendered[0]:
            return b""
        quoted = self._quote(rendered, text_columns)
        newline = self.dialect.newline
        body = newline.join(map(self.dialect.delimiter.join, zip(*quoted, strict=True))) + newline
        return self._encode(body, "results")

    def _quote(self, rendered: list[list[str]], text_columns: set[int]) -> list[list[str]]:
        dialect = self.dialect
        q = dialect.quotechar
        specials = (dialect.delimiter, q, "\n", "\r")
        out = []
        for position, cells in enumerate(rendered):
            always = dialect.quoting == "all" or (
                dialect.quoting == "nonnumeric" and position in text_columns
            )
            if always:
                out.append([q + c.replace(q, q + q) + q for c in cells])
                continue
            joined = "\x00".join(cells)
            if not any(s in joined for s in specials):
                out.append(cells)
                continue
            if dialect.quoting == "none":
                row = next(i for i, c in enumerate(cells) if any(s in c for s in specials))
                raise CsvEncodeError(
                    f"value {cells[row][:40]!r} holds a delimiter, quote or line break; quoting is 'none'",
                    field=self.columns[position] if position < len(self.columns) else None,
                )
            out.append([q + c.replace(q, q + q) + q if any(s in c for s in specials) else c for c in cells])
        return out

    def _encode(self, text: str, what: str) -> bytes:
        try:
            return text.encode(self.dialect.encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise CsvEncodeError(
                f"the {what} hold {bad!r}, which encoding {self.dialect.encoding} cannot represent"
            ) from exc


def _render(values: Any) -> tuple[list[str], bool]:
    """Cells of one column as text, and whether the column is text (for ``nonnumeric`` quoting)."""
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind == "f":
            cells = values.astype(str)
            if np.isnan(values).any():
                cells[np.isnan(values)] = ""
            return cells.tolist(), False
        if kind in "iu":
            return values.astype(str).tolist(), False
        if kind == "b":
            return np.where(values, "true", "false").tolist(), False
        if kind == "U":
            return values.tolist(), True
        if kind == "S":
            return [_cell(v) for v in values.tolist()], True
        values = values.tolist()
    items = list(values)
    if set(map(type, items)) <= {str}:  # one C-speed pass; the common case (text columns) ends here
        return items, True
    return [_cell(v) for v in items], True


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, float | np.floating):
        return "" if value != value else repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)
