"""Copybook source text -> tokens with line and column, in fixed or free reference format.

Fixed reference format (the mainframe default): columns 1-6 are the sequence area (ignored), column 7 the
indicator (``*`` or ``/`` comment, ``-`` continuation, ``D`` debugging line, treated as a comment), columns
8-72 areas A and B, columns 73-80 ignored. Free format: the whole line is program text, and a line whose first
non-blank character is ``*`` is a comment (fixed-format comment lines survive conversions that way). In both,
``*>`` starts a comment that runs to the end of the line. Tabs expand to 8 columns, as compilers do.

Auto-detection picks free format when some line has program text that cannot be fixed format: column 7
holding anything but an indicator, text beyond column 80, or a word running from column 72 into 73 (fixed
format would silently cut it). With fixed format forced, such a word is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapters.codecs.errors import CopybookSyntaxError

__all__ = ["Token", "detect_format", "tokenize"]

_INDICATORS = frozenset(" *-/Dd")
_AREA_END = 72  # last column of area B in fixed format
_TAB = 8
_QUOTES = "'\""
_LITERAL_PREFIXES = frozenset({"X", "N", "G", "Z", "NX", "U", "B", "BX"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: a word (names, keywords, PICTURE strings, numbers), a literal, or the ``.`` separator.

    ``value`` is the text with quotes removed for literals (doubled quotes undone) and the word itself
    otherwise. ``line`` and ``column`` are 1-based positions in the source.
    """

    kind: Literal["word", "literal", "period"]
    value: str
    line: int
    column: int

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == "word" else self.value


@dataclass(slots=True)
class _Stream:
    """The program text with every character's source position, built line by line."""

    chars: list[str]
    where: list[tuple[int, int]]
    quote: str = ""  # the open literal's quote character while a literal spans lines

    def add(self, text: str, line: int, first_column: int) -> None:
        for i, ch in enumerate(text):
            self.chars.append(ch)
            self.where.append((line, first_column + i))
            if self.quote:
                if ch == self.quote:
                    self.quote = ""  # a doubled quote closes and reopens: net effect is right
            elif ch in _QUOTES:
                self.quote = ch

    def end_line(self, line: int, column: int) -> None:
        self.chars.append("\n")
        self.where.append((line, column))

    def continue_line(self, line: int, text: str, first_column: int) -> None:
        """Join a continuation line (indicator ``-``) to the text so far."""
        if self.chars and self.chars[-1] == "\n":
            self.chars.pop()
            self.where.pop()
        stripped = text.lstrip(" ")
        column = first_column + len(text) - len(stripped)
        if self.quote:
            # A literal continued from the previous line runs to column 72 there, and resumes after the
            # quote that must open the continuation line.
            last_line, last_col = self.where[-1] if self.where else (line, column)
            self.add(" " * max(0, _AREA_END - last_col), last_line, last_col + 1)
            if not stripped or stripped[0] != self.quote:
                raise CopybookSyntaxError(
                    "a continued literal must resume with a quote",
                    line=line,
                    column=column,
                    expected=f"{self.quote} as the first character in area B",
                    found=repr(stripped[:1] or "end of line"),
                )
            # The literal is still open: add() keeps tracking it until its closing quote.
            self.add(stripped[1:], line, column + 1)
            return
        while self.chars and self.chars[-1] == " ":
            self.chars.pop()
            self.where.pop()
        self.add(stripped, line, column)


def _strip_inline_comment(text: str) -> str:
    """Drop a ``*>`` comment (outside literals) and what follows it."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in _QUOTES:
            quote = ch
        elif text.startswith("*>", i):
            return text[:i]
    return text


def detect_format(lines: list[str]) -> Literal["fixed", "free"]:
    """``"fixed"`` unless some program line cannot be fixed reference format (see the module docstring)."""
    for raw in lines:
        line = raw.expandtabs(_TAB)
        if not line.strip() or line.lstrip().startswith("*>"):
            continue
        if len(line) > 6 and line[6] not in _INDICATORS:
            return "free"
        if len(line) > 6 and line[6] in "*/":
            continue
        if line[80:].strip() or (len(line) <= 6 and line.strip()) or _crosses_area_end(line):
            return "free"
    return "fixed"


def _crosses_area_end(line: str) -> bool:
    """Text running from column 72 into 73: fixed format would cut a word in two."""
    return len(line) > _AREA_END and line[_AREA_END - 1] != " " and line[_AREA_END] != " "


def _fixed_lines(lines: list[str], stream: _Stream) -> None:
    for number, raw in enumerate(lines, start=1):
        line = raw.expandtabs(_TAB)
        indicator = line[6] if len(line) > 6 else " "
        if indicator not in _INDICATORS:
            raise CopybookSyntaxError(
                "unknown indicator in column 7",
                line=number,
                column=7,
                expected="space, '*', '/', '-' or 'D'",
                found=repr(indicator),
            )
        if indicator in "*/Dd":
            continue
        if _crosses_area_end(line):
            raise CopybookSyntaxError(
                "text runs past column 72 (columns 73-80 are ignored in fixed format)",
                line=number,
                column=_AREA_END + 1,
                expected="program text within columns 8-72, or free format",
                found=repr(line[_AREA_END - 8 : _AREA_END + 8]),
            )
        text = _strip_inline_comment(line[7:_AREA_END]).rstrip()
        if indicator == "-":
            stream.continue_line(number, text, 8)
        else:
            stream.add(text, number, 8)
        stream.end_line(number, 8 + len(text))


def _free_lines(lines: list[str], stream: _Stream) -> None:
    for number, raw in enumerate(lines, start=1):
        text = _strip_inline_comment(raw.expandtabs(_TAB)).rstrip()
        if text.lstrip().startswith("*"):
            continue  # no data entry starts with '*': a fixed-format comment line kept in free text
        stream.add(text, number, 1)
        stream.end_line(number, 1 + len(text))


def tokenize(text: str, source_format: Literal["auto", "fixed", "free"] = "auto") -> list[Token]:
    """Split copybook text into tokens. Raises ``CopybookSyntaxError`` for an unterminated literal."""
    lines = text.rstrip("\x1a").splitlines()  # a trailing Ctrl-Z is a DOS end-of-file mark, not text
    chosen = detect_format(lines) if source_format == "auto" else source_format
    stream = _Stream([], [])
    (_fixed_lines if chosen == "fixed" else _free_lines)(lines, stream)
    return _scan(stream.chars, stream.where)


def _is_separator_at(chars: list[str], i: int) -> bool:
    """A ``.``, ``,`` or ``;`` is a separator when followed by whitespace or the end of the text."""
    return chars[i] in ".,;" and (i + 1 == len(chars) or chars[i + 1] in " \n")


def _scan(chars: list[str], where: list[tuple[int, int]]) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(chars)
    while i < n:
        ch = chars[i]
        if ch in " \n" or (ch in ",;" and _is_separator_at(chars, i)):
            i += 1
            continue
        line, column = where[i]
        if ch == "." and _is_separator_at(chars, i):
            tokens.append(Token("period", ".", line, column))
            i += 1
            continue
        if ch in _QUOTES:
            value, i = _literal(chars, where, i)
            tokens.append(Token("literal", value, line, column))
            continue
        start = i
        while i < n and chars[i] not in " \n" and not _is_separator_at(chars, i):
            if chars[i] in _QUOTES and "".join(chars[start:i]).upper() in _LITERAL_PREFIXES:
                break
            i += 1
        word = "".join(chars[start:i])
        if i < n and chars[i] in _QUOTES and word.upper() in _LITERAL_PREFIXES:
            value, i = _literal(chars, where, i)
            tokens.append(Token("literal", value, line, column))
            continue
        tokens.append(Token("word", word, line, column))
    return tokens


def _literal(chars: list[str], where: list[tuple[int, int]], i: int) -> tuple[str, int]:
    """Read the literal whose opening quote is at ``i``; return its content and the index after it."""
    quote, start = chars[i], i
    out: list[str] = []
    i += 1
    while i < len(chars):
        if chars[i] == quote:
            if i + 1 < len(chars) and chars[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        if chars[i] == "\n":
            break
        out.append(chars[i])
        i += 1
    line, column = where[start]
    raise CopybookSyntaxError(
        "literal is not terminated",
        line=line,
        column=column,
        expected=f"closing {quote}",
        found="end of line",
    )
