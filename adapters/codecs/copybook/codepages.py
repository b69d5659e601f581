"""Code pages for text fields and the byte values zoned decimals use in them.

The code page is explicit configuration, never guessed. EBCDIC pages come from the standard library
(cp037, cp273, cp500, cp875, cp1026, cp1140) and from the ``ebcdic`` package (cp1047, cp1141-cp1149 and
more); ASCII-family pages are ``ascii``, ``latin-1`` and ``utf-8``.

>>> cp = get_codepage("cp037")
>>> cp.ebcdic, cp.decode(b"\\xc8\\x85\\x93\\x93\\x96"), cp.encode("42").hex()
(True, 'Hello', 'f4f2')
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

import ebcdic  # type: ignore[import-untyped]  # importing registers cp1047, cp1141-cp1149 ... with the codecs module

__all__ = ["Codepage", "available_codepages", "get_codepage"]

_ALIASES = {
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "ascii": "ascii",
    "us-ascii": "ascii",
    "utf-8": "utf-8",
    "utf8": "utf-8",
}
_STDLIB_EBCDIC = ("cp037", "cp273", "cp500", "cp875", "cp1026", "cp1140")


@dataclass(frozen=True, slots=True)
class Codepage:
    """A named text encoding plus the facts zoned decimals need (EBCDIC or ASCII digits and signs).

    ``decode`` and ``encode`` are strict: they raise ``UnicodeError`` for bytes or characters outside the
    page, which the field codecs turn into ``UnmappableCharacter`` / ``UnrepresentableValue``.
    ``table`` is the 256-character decoding table of a single-byte page (``None`` for UTF-8), the form a
    vectorised decoder wants.
    """

    name: str
    codec: str | None  # Python codec name; None when decoding goes through ``table`` alone
    table: str | None

    @property
    def ebcdic(self) -> bool:
        return self.encode("0") == b"\xf0"

    @property
    def single_byte(self) -> bool:
        return self.table is not None

    def decode(self, data: bytes) -> str:
        if self.codec is not None:
            return codecs.decode(data, self.codec, "strict")
        assert self.table is not None
        return codecs.charmap_decode(data, "strict", self.table)[0]

    def encode(self, text: str) -> bytes:
        if self.codec is not None:
            return codecs.encode(text, self.codec, "strict")
        assert self.table is not None
        return codecs.charmap_encode(text, "strict", _encoding_map(self.table))[0]

    @property
    def space(self) -> int:
        return self.encode(" ")[0]

    @classmethod
    def from_table(cls, name: str, table: str) -> Codepage:
        """A single-byte page given as its 256-character decoding table (byte ``b`` decodes to table[b])."""
        if len(table) != 256:
            raise ValueError(f"code page {name}: a decoding table needs 256 characters, got {len(table)}")
        return cls(name, None, table)


_MAPS: dict[str, Any] = {}


def _encoding_map(table: str) -> Any:
    if table not in _MAPS:
        # Where several bytes decode to the same character (a page mapping many bytes to a space), encode
        # to the lowest of them: later duplicates are left out of the map.
        reversed_table = "".join(table[b] if table.index(table[b]) == b else "\ufffe" for b in range(256))
        _MAPS[table] = codecs.charmap_build(reversed_table)
    return _MAPS[table]


def _single_byte_table(codec: str) -> str | None:
    try:
        table = bytes(range(256)).decode(codec, "strict")
    except UnicodeDecodeError:
        return None
    return table if len(table) == 256 else None


def get_codepage(name: str) -> Codepage:
    """The code page called ``name`` (``cp037``, ``IBM-1047``, ``037``, ``latin-1``, ``utf-8`` ...).

    Raises ``ValueError`` naming the known pages when the name is not one of them.
    """
    key = name.strip().lower()
    if key in _ALIASES:
        canonical = _ALIASES[key]
        table = _single_byte_table(canonical) if canonical == "latin-1" else None
        return Codepage(canonical, canonical, table)
    digits = key.removeprefix("ibm").removeprefix("cp").lstrip("-_")
    if digits.isdigit():
        canonical = f"cp{int(digits):03d}"
        if canonical in available_codepages():
            return Codepage(canonical, canonical, _single_byte_table(canonical))
    raise ValueError(f"unknown code page {name!r}; known: {', '.join(available_codepages())}")


def available_codepages() -> tuple[str, ...]:
    """Every page :func:`get_codepage` accepts, EBCDIC first."""
    pages = {n for n in (*_STDLIB_EBCDIC, *ebcdic.codec_names) if n[2:].isdigit()}
    return (*sorted(pages, key=lambda n: int(n[2:])), "ascii", "latin-1", "utf-8")
