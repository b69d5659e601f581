"""Which file names the folder protocol accepts, and how a refused name is shown and stored.

An input name flows into output names, log lines and the archive, and often into a downstream script's
command line; a name that could break any of those is refused before the file is read. Refused: names that
are not UTF-8, that hold a NUL, a line break or another control character, Unicode format characters such
as the right-to-left override (which make a name display as something else), ``.`` and ``..``, anything
with a ``/``, and names whose derived output names would exceed the 255-byte limit of common file systems.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["MAX_NAME_BYTES", "name_problem", "safe_name"]

MAX_NAME_BYTES = 255
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_SAFE_BYTES = 200


def name_problem(raw: bytes, derived: Iterable[str] = ()) -> str | None:
    """Why ``raw`` (a directory entry's name as bytes) is refused, or None when it is acceptable.

    ``derived`` are the names the protocol would create from it (result, rejects, manifest, temporaries);
    each must fit in :data:`MAX_NAME_BYTES` bytes.

    >>> name_problem(b"claims.csv") is None
    True
    >>> name_problem(b"bad\\nname.csv")
    'the name holds a control character (U+000A)'
    """
    if b"\x00" in raw:
        return "the name holds a NUL byte"
    if b"/" in raw or raw in (b".", b".."):
        return "the name is a path, not a file name"
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the name is not valid UTF-8 (byte {exc.start}: 0x{raw[exc.start]:02X})"
    for char in name:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            kind = "control" if category == "Cc" else "format or invisible"
            return f"the name holds a {kind} character (U+{ord(char):04X})"
    if len(raw) > MAX_NAME_BYTES:
        return f"the name is {len(raw)} bytes long, over the limit of {MAX_NAME_BYTES}"
    for other in derived:
        size = len(other.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            return (
                f"the output name derived from it would be {size} bytes, over the limit of {MAX_NAME_BYTES}"
            )
    return None


def safe_name(raw: bytes) -> str:
    """A printable, length-limited rendering of any name, for the errors folder and for logs.

    Invalid UTF-8 bytes appear as ``\\xNN``, refused characters as ``_``; the result never holds ``/`` and
    is at most 200 bytes of UTF-8.

    >>> safe_name(b"a\\nb\\xff.csv")
    'a_b\\\\xff.csv'
    """
    text = raw.decode("utf-8", errors="backslashreplace")
    cleaned = "".join("_" if unicodedata.category(c) in _REFUSED_CATEGORIES or c == "/" else c for c in text)
    if cleaned in ("", ".", ".."):
        cleaned = "_" + cleaned
    encoded = cleaned.encode("utf-8")
    if len(encoded) > _SAFE_BYTES:
        cleaned = encoded[:_SAFE_BYTES].decode("utf-8", errors="ignore") + "~"
    return cleaned
