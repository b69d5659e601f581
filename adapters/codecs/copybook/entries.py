"""Tokens -> data description entries (level, name and clauses), checked clause by clause.

This is the grammar half of the parser: it knows COBOL's data description clauses and nothing about
offsets. Every entry remembers where it was written, so that later errors can name the line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from adapters.codecs.copybook.layout import Condition, SignPosition, Usage
from adapters.codecs.copybook.source import Token
from adapters.codecs.errors import CopybookSyntaxError

__all__ = ["Entry", "Occurs", "parse_entries"]

_USAGES = {
    "DISPLAY": Usage.DISPLAY,
    "COMP": Usage.BINARY,
    "COMPUTATIONAL": Usage.BINARY,
    "COMP-0": Usage.BINARY,
    "COMPUTATIONAL-0": Usage.BINARY,
    "COMP-4": Usage.BINARY,
    "COMPUTATIONAL-4": Usage.BINARY,
    "BINARY": Usage.BINARY,
    "COMP-5": Usage.NATIVE_BINARY,
    "COMPUTATIONAL-5": Usage.NATIVE_BINARY,
    "COMP-3": Usage.PACKED,
    "COMPUTATIONAL-3": Usage.PACKED,
    "PACKED-DECIMAL": Usage.PACKED,
    "COMP-1": Usage.FLOAT_SHORT,
    "COMPUTATIONAL-1": Usage.FLOAT_SHORT,
    "COMP-2": Usage.FLOAT_LONG,
    "COMPUTATIONAL-2": Usage.FLOAT_LONG,
    "NATIONAL": Usage.NATIONAL,
}
_UNSUPPORTED_USAGES = frozenset(
    {"INDEX", "POINTER", "PROCEDURE-POINTER", "FUNCTION-POINTER", "OBJECT", "COMP-X", "COMP-6", "DISPLAY-1"}
)
_FIGURATIVE = {
    "ZERO": "0",
    "ZEROS": "0",
    "ZEROES": "0",
    "SPACE": " ",
    "SPACES": " ",
    "HIGH-VALUE": "\xff",
    "HIGH-VALUES": "\xff",
    "LOW-VALUE": "\x00",
    "LOW-VALUES": "\x00",
    "QUOTE": '"',
    "QUOTES": '"',
    "NULL": "\x00",
    "NULLS": "\x00",
}
_IGNORED_CLAUSES = frozenset({"GLOBAL", "EXTERNAL"})


@dataclass(slots=True)
class Occurs:
    minimum: int
    maximum: int
    depending_on: tuple[str, ...] | None  # the counter's name, then its qualifiers (X OF Y -> ("X", "Y"))
    token: Token


@dataclass(slots=True)
class Entry:
    """One data description entry as written; ``children`` is filled in by the tree builder."""

    level: int
    name: str  # "FILLER" when omitted
    token: Token  # the level number: where the entry starts
    picture: str | None = None
    picture_token: Token | None = None
    usage: Usage | None = None
    usage_token: Token | None = None
    occurs: Occurs | None = None
    redefines: str | None = None
    sign: tuple[SignPosition, bool] | None = None  # position, separate
    sync: bool = False
    blank_when_zero: bool = False
    justified: bool = False
    renames: tuple[str, str | None] | None = None
    values: list[str | Decimal | tuple[str | Decimal, str | Decimal]] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    children: list[Entry] = field(default_factory=list)

    @property
    def filler(self) -> bool:
        return self.name.upper() == "FILLER"


class _Cursor:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self, what: str) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else Token("period", ".", 1, 1)
            raise CopybookSyntaxError(
                "copybook ends early", line=last.line, column=last.column, expected=what
            )
        self.i += 1
        return token

    def accept(self, *words: str) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.upper in words:
            self.i += 1
            return token
        return None


def _error(token: Token, reason: str, expected: str | None = None) -> CopybookSyntaxError:
    shown = "'.'" if token.kind == "period" else repr(token.value)
    return CopybookSyntaxError(
        reason, line=token.line, column=token.column, expected=expected, found=shown if expected else None
    )


def parse_entries(tokens: list[Token]) -> list[Entry]:
    """Every data description entry in source order. Raises ``CopybookSyntaxError`` with line/column."""
    cursor = _Cursor(tokens)
    entries: list[Entry] = []
    while cursor.peek() is not None:
        entries.append(_entry(cursor))
    return entries


def _entry(cursor: _Cursor) -> Entry:
    token = cursor.next("a level number")
    if token.kind != "word" or not token.value.isdigit():
        if token.kind == "word" and token.upper in ("COPY", "REPLACE", "EXEC"):
            raise _error(token, f"{token.upper} statements are not supported; expand them first")
        raise _error(token, "unexpected text", expected="a level number (01-49, 66, 77 or 88)")
    level = int(token.value)
    if not (1 <= level <= 49 or level in (66, 77, 88)):
        raise _error(
            token, f"level {token.value} is not a valid level number", expected="01-49, 66, 77 or 88"
        )
    entry = Entry(level=level, name="FILLER", token=token)
    following = cursor.peek()
    if following is not None and following.kind == "word" and not _is_clause_word(following.upper):
        cursor.next("a name")
        entry.name = following.value
    while True:
        clause = cursor.next("a clause or '.'")
        if clause.kind == "period":
            return entry
        _clause(cursor, entry, clause)


def _is_clause_word(word: str) -> bool:
    return word in _CLAUSES or word in _USAGES or word in _UNSUPPORTED_USAGES or word in _IGNORED_CLAUSES


def _clause(cursor: _Cursor, entry: Entry, token: Token) -> None:
    word = token.upper if token.kind == "word" else ""
    if word in _USAGES or word in _UNSUPPORTED_USAGES:
        _set_usage(entry, token)
    elif word in _IGNORED_CLAUSES:
        return
    elif word in _CLAUSES:
        _CLAUSES[word](cursor, entry, token)
    else:
        raise _error(
            token, "unknown or unsupported clause", expected="PIC, USAGE, OCCURS, REDEFINES, SIGN or VALUE"
        )


def _set_usage(entry: Entry, token: Token) -> None:
    if token.upper in _UNSUPPORTED_USAGES:
        raise _error(token, f"USAGE {token.upper} is not supported")
    if entry.usage is not None:
        raise _error(token, "USAGE is given twice")
    entry.usage, entry.usage_token = _USAGES[token.upper], token


def _usage(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("IS")
    _set_usage(entry, cursor.next("a usage such as DISPLAY, COMP or COMP-3"))
    if entry.usage is None:
        raise _error(token, "USAGE needs a usage")


def _picture(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("IS")
    pic = cursor.next("a PICTURE string")
    if pic.kind != "word":
        raise _error(pic, "PICTURE needs a character string", expected="a PICTURE string such as X(10)")
    if entry.picture is not None:
        raise _error(token, "PICTURE is given twice")
    entry.picture, entry.picture_token = pic.value, pic


def _integer(cursor: _Cursor, what: str) -> int:
    token = cursor.next(what)
    if token.kind != "word" or not token.value.isdigit():
        raise _error(token, f"{what} must be an unsigned integer", expected=what)
    return int(token.value)


def _occurs(cursor: _Cursor, entry: Entry, token: Token) -> None:
    if entry.occurs is not None:
        raise _error(token, "OCCURS is given twice")
    first = _integer(cursor, "an occurrence count")
    minimum, maximum = first, first
    if cursor.accept("TO"):
        maximum = _integer(cursor, "a maximum occurrence count")
    cursor.accept("TIMES")
    depending: tuple[str, ...] | None = None
    if cursor.accept("DEPENDING"):
        cursor.accept("ON")
        depending = _qualified_name(cursor, "the counter named by DEPENDING ON")
        if minimum == maximum:
            minimum = 0  # OCCURS n DEPENDING ON x (no TO) allows 0..n
    if maximum < minimum or maximum == 0:
        raise _error(token, f"OCCURS {minimum} TO {maximum} is not a valid range")
    entry.occurs = Occurs(minimum, maximum, depending, token)
    _skip_keys_and_indexes(cursor)


def _skip_keys_and_indexes(cursor: _Cursor) -> None:
    """ASCENDING/DESCENDING KEY and INDEXED BY name the table for SEARCH; they do not change the layout."""
    while cursor.accept("ASCENDING", "DESCENDING"):
        cursor.accept("KEY")
        cursor.accept("IS")
        _names_until_clause(cursor)
    if cursor.accept("INDEXED"):
        cursor.accept("BY")
        _names_until_clause(cursor)


def _names_until_clause(cursor: _Cursor) -> None:
    while (token := cursor.peek()) is not None and token.kind == "word" and not _is_clause_word(token.upper):
        cursor.next("a name")


def _qualified_name(cursor: _Cursor, what: str) -> tuple[str, ...]:
    token = cursor.next(what)
    if token.kind != "word":
        raise _error(token, f"{what} must be a data name", expected="a data name")
    names = [token.value]
    while cursor.accept("OF", "IN"):
        names.append(cursor.next("a qualifying name").value)
    return tuple(names)


def _redefines(cursor: _Cursor, entry: Entry, token: Token) -> None:
    entry.redefines = cursor.next("the name of the item redefined").value


def _sign(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("IS")
    position = cursor.accept("LEADING", "TRAILING")
    if position is None:
        raise _error(
            cursor.next("LEADING or TRAILING"), "SIGN needs a position", expected="LEADING or TRAILING"
        )
    _leading_trailing(cursor, entry, position)


def _leading_trailing(cursor: _Cursor, entry: Entry, token: Token) -> None:
    separate = cursor.accept("SEPARATE") is not None
    if separate:
        cursor.accept("CHARACTER")
    position = SignPosition.LEADING if token.upper == "LEADING" else SignPosition.TRAILING
    entry.sign = (position, separate)


def _sync(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("LEFT", "RIGHT")
    entry.sync = True


def _blank(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("WHEN")
    if cursor.accept("ZERO", "ZEROS", "ZEROES") is None:
        raise _error(cursor.next("ZERO"), "BLANK needs WHEN ZERO", expected="ZERO")
    entry.blank_when_zero = True


def _justified(cursor: _Cursor, entry: Entry, token: Token) -> None:
    cursor.accept("RIGHT")
    entry.justified = True


def _renames(cursor: _Cursor, entry: Entry, token: Token) -> None:
    first = cursor.next("the first item renamed").value
    last = cursor.next("the last item renamed").value if cursor.accept("THRU", "THROUGH") else None
    entry.renames = (first, last)


def _value(cursor: _Cursor, entry: Entry, token: Token) -> None:
    """VALUE [IS] / VALUES [ARE] literal [THRU literal] ...; kept for level 88, otherwise only consumed."""
    cursor.accept("IS", "ARE")
    while True:
        low = _literal(cursor)
        if cursor.accept("THRU", "THROUGH"):
            entry.values.append((low, _literal(cursor)))
        else:
            entry.values.append(low)
        following = cursor.peek()
        if following is None or following.kind == "period" or _is_clause_word(following.upper):
            return
        if following.kind == "word" and following.upper in ("WHEN", "FALSE"):
            raise _error(following, "VALUE ... WHEN SET TO FALSE is not supported")


def _literal(cursor: _Cursor) -> str | Decimal:
    token = cursor.next("a literal")
    if token.kind == "literal":
        return token.value
    if token.kind == "word" and token.upper == "ALL":
        return _literal(cursor)
    if token.kind == "word" and token.upper in _FIGURATIVE:
        return _FIGURATIVE[token.upper]
    if token.kind == "word":
        try:
            return Decimal(token.value)
        except InvalidOperation:
            pass
    raise _error(token, "not a literal", expected="a literal, a number or a figurative constant")


_CLAUSES = {
    "PIC": _picture,
    "PICTURE": _picture,
    "USAGE": _usage,
    "OCCURS": _occurs,
    "REDEFINES": _redefines,
    "SIGN": _sign,
    "LEADING": _leading_trailing,
    "TRAILING": _leading_trailing,
    "SYNC": _sync,
    "SYNCHRONIZED": _sync,
    "BLANK": _blank,
    "JUSTIFIED": _justified,
    "JUST": _justified,
    "VALUE": _value,
    "VALUES": _value,
    "RENAMES": _renames,
}
