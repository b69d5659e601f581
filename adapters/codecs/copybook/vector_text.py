"""Text kernels of the block path: code-page bytes <-> fixed-width numpy ``str`` arrays.

A single-byte code page becomes lookup tables: byte -> code point (decode) and code point -> byte
(encode). Text columns keep the field's raw bytes at decode time — only what is needed to judge them
(bytes a page cannot decode) is computed then — and :func:`materialize` turns them into ``str`` when first
read: trailing padding is trimmed on the bytes as numpy ``bytes`` (one byte per character instead of
four), code points are gathered with one ``numpy.take`` and reinterpreted as numpy's fixed-width ``U``
dtype. ``U`` arrays are what JSON output wants: ``tolist()`` yields Python ``str`` directly.

Anything the tables cannot settle goes to the reference ``fields`` functions for just those values
(see ``plan_text``): bytes without a code point of their own (UTF-8 sequences, bytes outside ASCII),
UTF-16 surrogates in PIC N, characters outside the encode table, trailing NULs a non-trimming mode keeps
(numpy's ``U`` dtype cannot hold them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters.codecs.copybook.codepages import Codepage

__all__ = [
    "TextTables",
    "encode_points",
    "keeps_trailing_nul",
    "materialize",
    "materialize_utf16",
    "text_tables",
    "undecodable",
    "utf16_surrogates",
]

UNMAPPED = np.uint32(0xFFFFFFFF)  # decode table entry of a byte that does not decode on its own
NO_BYTE = np.uint16(0xFFFF)  # encode table entry of a code point the page cannot encode on its own
_BMP = 0x10000
# What the reference trims: NULs and spaces. NUL comes first because numpy drops trailing NULs from the
# ``chars`` argument of ``numpy.strings.strip`` like from any ``str`` element, which would lose it.
_PADDING = "\x00 "


@dataclass(frozen=True, slots=True)
class TextTables:
    """Lookup tables of one single-byte code page.

    ``decode``: byte -> code point (:data:`UNMAPPED` for a byte that does not decode on its own), with
    byte 00 -> U+0000 (numpy ``bytes`` treat trailing 00 as absent, so it must mean NUL). ``pad``: the
    bytes that decode to a space or NUL, NUL first (what trimming removes). ``invalid_high``: the bytes
    that do not decode are exactly 80-FF (ASCII, UTF-8), checked by a compare instead of a gather.
    ``encode``: BMP code point -> byte, or :data:`NO_BYTE`. ``space`` is the page's space byte.
    """

    name: str
    decode: np.ndarray
    pad: bytes
    partial: bool
    invalid_high: bool
    encode: np.ndarray
    space: int


_CACHE: dict[str, TextTables | None] = {}


def text_tables(codepage: Codepage) -> TextTables | None:
    """The (cached) tables of ``codepage``, built by asking the code page itself about every byte and
    every character so that they agree with the reference exactly; ``None`` for a page whose byte 00
    is not NUL (it is then decoded by the reference)."""
    if codepage.name not in _CACHE:
        _CACHE[codepage.name] = _build(codepage)
    return _CACHE[codepage.name]


def _build(codepage: Codepage) -> TextTables | None:
    decode = np.full(256, UNMAPPED, dtype=np.uint32)
    for byte in range(256):
        try:
            char = codepage.decode(bytes([byte]))
        except UnicodeDecodeError:
            continue
        if len(char) == 1:
            decode[byte] = ord(char)
    if decode[0] != 0:
        return None
    encode = np.full(_BMP, NO_BYTE, dtype=np.uint16)
    for point in sorted({int(p) for p in decode if p < _BMP}):
        try:
            data = codepage.encode(chr(point))
        except UnicodeEncodeError:
            continue
        if len(data) == 1:
            encode[point] = data[0]
    mapped = decode != UNMAPPED
    pad = bytes(b for b in range(256) if decode[b] == 0) + bytes(b for b in range(256) if decode[b] == 0x20)
    high = np.arange(256) >= 0x80
    return TextTables(
        codepage.name,
        decode,
        pad,
        partial=not mapped.all(),
        invalid_high=bool((~mapped == high).all()),
        encode=encode,
        space=codepage.space,
    )


def undecodable(raw: np.ndarray, tables: TextTables) -> np.ndarray | None:
    """Occurrences of ``raw`` bytes ``(..., width)`` holding a byte without a code point of its own
    (``None`` when the page has no such byte)."""
    if not tables.partial:
        return None
    if tables.invalid_high:
        return (raw >= 0x80).any(axis=-1)
    return (np.take(tables.decode, raw) == UNMAPPED).any(axis=-1)


def materialize(raw: np.ndarray, tables: TextTables, mode: str, justified: bool) -> np.ndarray:
    """``str`` array ``(...)`` of single-byte ``raw`` ``(..., width)``, trimmed as the reference trims.

    Occurrences with undecodable bytes come out as placeholders; the caller overrides them.
    """
    width = raw.shape[-1]
    trimmed = _trim(np.ascontiguousarray(raw).view(f"S{width}")[..., 0], mode, justified, tables.pad)
    points = np.take(tables.decode, trimmed.view(np.uint8).reshape(raw.shape))
    if tables.partial:
        points[points == UNMAPPED] = 0
    return points.view(f"U{width}")[..., 0]


def utf16_surrogates(raw: np.ndarray) -> np.ndarray:
    """Occurrences of UTF-16BE ``raw`` ``(..., 2 * width)`` holding a surrogate (they need the real
    UTF-16 decoder, which pairs them or rejects them)."""
    units = raw.view(">u2")
    return ((units >= 0xD800) & (units <= 0xDFFF)).any(axis=-1)


def materialize_utf16(raw: np.ndarray, mode: str, justified: bool) -> np.ndarray:
    """``str`` array of UTF-16BE ``raw`` (surrogates come out as placeholders the caller overrides)."""
    points = np.ascontiguousarray(raw).view(">u2").astype(np.uint32)
    return _trim(points.view(f"U{points.shape[-1]}")[..., 0], mode, justified, _PADDING)


def _trim(strings: np.ndarray, mode: str, justified: bool, pad: str | bytes) -> np.ndarray:
    """The reference's trimming: ``right`` strips trailing padding (leading for JUSTIFIED RIGHT),
    ``both`` both ends, ``none`` nothing."""
    if mode == "none":
        return strings
    if mode == "both":
        return np.strings.strip(strings, pad)
    if justified:
        return np.strings.lstrip(strings, pad)
    return np.strings.rstrip(strings, pad)


def keeps_trailing_nul(last: np.ndarray, mode: str, justified: bool) -> np.ndarray | None:
    """Occurrences whose text ends in U+0000 (``last`` holds each one's last code point) that the trim
    mode keeps; numpy ``str`` arrays cannot hold a trailing NUL, so these need the reference."""
    if mode == "both" or (mode == "right" and not justified):
        return None
    ends = last == 0
    return ends if ends.any() else None


def encode_points(strings: np.ndarray, width: int, tables: TextTables) -> tuple[np.ndarray, np.ndarray]:
    """Bytes ``(..., width)`` of a ``str`` array, padded on the right with the page's space, and the mask
    of values the tables cannot encode (too long, or holding a character without a single byte); those
    need the reference encoder, which also produces their errors."""
    itemsize = strings.dtype.itemsize // 4
    points = np.ascontiguousarray(strings).view(np.uint32).reshape(*strings.shape, itemsize)
    lengths = np.strings.str_len(strings)
    if itemsize < width:
        points = np.concatenate([points, np.zeros((*strings.shape, width - itemsize), np.uint32)], axis=-1)
    slow = lengths > width
    points = points[..., :width]
    in_bmp = points < _BMP
    data = np.take(tables.encode, np.where(in_bmp, points, 0))
    beyond = np.arange(width) >= lengths[..., None]
    unmapped = ((data == NO_BYTE) | ~in_bmp) & ~beyond
    slow |= unmapped.any(axis=-1)
    data = np.where(beyond, np.uint16(tables.space), data)
    return data.astype(np.uint8), slow
