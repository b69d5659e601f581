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

CHUNK = 16384  # records per pass when building str values
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
    ``latin1``: the ``bytes.translate`` table byte -> Latin-1 code of its character, for a page whose
    every byte decodes to a character below U+0100. ``narrow_encode``: the ``bytes.translate`` table of
    code points below U+0100 (U+0000 -> space, the padding of numpy ``str``), where characters the page
    lacks become ``narrow_missing``, a byte no character maps to (``None`` when every one has a byte).
    """

    name: str
    decode: np.ndarray
    pad: bytes
    partial: bool
    invalid_high: bool
    encode: np.ndarray
    space: int
    narrow_encode: bytes | None
    narrow_missing: int | None
    latin1: bytes | None  # byte -> Latin-1 byte of its character, when every byte decodes below U+0100


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
    narrow_encode, narrow_missing = _narrow_encode(encode, codepage.space)
    return TextTables(
        codepage.name,
        decode,
        pad,
        partial=not mapped.all(),
        invalid_high=bool((~mapped == high).all()),
        encode=encode,
        space=codepage.space,
        narrow_encode=narrow_encode,
        narrow_missing=narrow_missing,
        latin1=_latin1(decode, mapped),
    )


def _latin1(decode: np.ndarray, mapped: np.ndarray) -> bytes | None:
    """byte -> Latin-1 byte of its character, when every byte that decodes gives one below U+0100 (bytes
    that do not decode give 00: placeholders, redone by the reference)."""
    if not bool((decode[mapped] < 0x100).all()):
        return None
    return np.where(mapped, decode, 0).astype(np.uint8).tobytes()


def _narrow_encode(encode: np.ndarray, space: int) -> tuple[bytes | None, int | None]:
    table = encode[:256].copy()
    table[0] = space
    missing = table == NO_BYTE
    if not missing.any():
        return table.astype(np.uint8).tobytes(), None
    free = sorted(set(range(256)) - {int(b) for b in table[~missing]})
    if not free:
        return None, None
    table[missing] = free[0]
    return table.astype(np.uint8).tobytes(), free[0]


def undecodable(raw: np.ndarray, tables: TextTables) -> np.ndarray | None:
    """Occurrences of ``raw`` bytes ``(..., width)`` holding a byte without a code point of its own
    (``None`` when the page has no such byte)."""
    if not tables.partial:
        return None
    if tables.invalid_high:
        return np.asarray((raw >= 0x80).any(axis=-1))
    return np.asarray((np.take(tables.decode, raw) == UNMAPPED).any(axis=-1))


def materialize(raw: np.ndarray, tables: TextTables, mode: str, justified: bool) -> np.ndarray:
    """``str`` array ``(...)`` of single-byte ``raw`` ``(..., width)``, trimmed as the reference trims.

    Occurrences with undecodable bytes come out as placeholders; the caller overrides them. Works in
    chunks of :data:`CHUNK` records, so that gathering the bytes (often a strided view of the input)
    and every pass after it stay in the CPU caches.
    """
    width = raw.shape[-1]
    strings = np.empty(raw.shape[:-1], dtype=f"U{width}")
    points = strings.view(np.uint32).reshape(raw.shape)
    for start in range(0, len(raw), CHUNK):
        part = raw[start : start + CHUNK]
        trimmed = _trim(np.ascontiguousarray(part).view(f"S{width}")[..., 0], mode, justified, tables.pad)
        data = trimmed.view(np.uint8).reshape(part.shape)
        if tables.latin1 is not None:  # bytes.translate to Latin-1, then widen: faster than a numpy gather
            np.copyto(points[start : start + CHUNK], _translate(data, tables.latin1))
        else:
            chunk = np.take(tables.decode, data)
            if tables.partial:
                chunk[chunk == UNMAPPED] = 0
            points[start : start + CHUNK] = chunk
    return strings


def utf16_surrogates(raw: np.ndarray) -> np.ndarray:
    """Occurrences of UTF-16BE ``raw`` ``(..., 2 * width)`` holding a surrogate (they need the real
    UTF-16 decoder, which pairs them or rejects them)."""
    units = raw.view(">u2")
    return np.asarray(((units >= 0xD800) & (units <= 0xDFFF)).any(axis=-1))


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
    of values the tables cannot encode (too long, a character without a byte of its own, a NUL inside
    the text); those need the reference encoder, which also produces their errors.

    Characters below U+0100 — nearly all text in single-byte pages — take a fast path: code points
    narrowed to bytes and mapped with ``bytes.translate``, which is several times faster than a numpy
    gather. Past the end of a string numpy holds U+0000, which the tables map to the space.
    """
    itemsize = strings.dtype.itemsize // 4
    points = np.ascontiguousarray(strings).view(np.uint32).reshape(*strings.shape, itemsize)
    slow = np.zeros(strings.shape, dtype=bool)
    if itemsize > width:
        slow |= np.strings.str_len(strings) > width
        points = points[..., :width]
    if tables.narrow_encode is not None and points.size and int(points.max()) < 256:
        narrow = points.astype(np.uint8)
        data = _translate(narrow, tables.narrow_encode)
        if tables.narrow_missing is not None:
            slow |= (data == tables.narrow_missing).any(axis=-1)
        zero = narrow == 0
    else:
        in_bmp = points < _BMP
        wide = np.take(tables.encode, np.where(in_bmp, points, 0))
        wide[points == 0] = tables.space
        slow |= ((wide == NO_BYTE) | ~in_bmp).any(axis=-1)
        data = wide.astype(np.uint8)
        zero = points == 0
    inner_nul = zero[..., :-1] & ~zero[..., 1:]  # a NUL inside the text is not padding
    if inner_nul.any():
        slow |= inner_nul.any(axis=-1)
    if itemsize < width:
        padded = np.full((*strings.shape, width), tables.space, dtype=np.uint8)
        padded[..., :itemsize] = data
        data = padded
    return data, slow


def _translate(narrow: np.ndarray, table: bytes) -> np.ndarray:
    return np.frombuffer(narrow.tobytes().translate(table), dtype=np.uint8).reshape(narrow.shape)
