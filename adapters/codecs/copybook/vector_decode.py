"""Numeric decode kernels of the block path: every record and occurrence of one field at once.

Each kernel takes the padded work rows (see ``blocks``) and a field's :class:`~blocks.Slot` and returns
``(values, bad)``, both shaped ``(n, *counts)``: ``values`` the unscaled integers (``int64``; Python ``int``
objects for more than 18 digits; ``uint64`` for unsigned 8-byte binary) or floats, and ``bad`` a boolean
mask of occurrences whose bytes are not valid for the field (their value is meaningless). The rules are
those of ``numbers.py``, the one-value-at-a-time reference; tests prove the two equal.

Zoned and packed decimals are converted eight bytes at a time with SWAR arithmetic on ``uint64`` words
(digits in byte or nibble lanes are paired up: x10, x100, x10000) instead of a loop over digit
positions: numpy gathers (``table[bytes]``) cost about a nanosecond per byte, plain integer arithmetic a
fraction of that, and this is the hottest code in the codec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters.codecs.copybook.blocks import WORD, Slot, byte_view, word_view

__all__ = [
    "PackedSpec",
    "ZonedSpec",
    "decode_binary",
    "decode_ibm_float",
    "decode_ieee_float",
    "decode_packed",
    "decode_zoned",
]

_U = np.uint64
_LOW_NIBBLES = _U(0x0F0F0F0F0F0F0F0F)
_HIGH_NIBBLES = _U(0xF0F0F0F0F0F0F0F0)
_BYTE_PAIRS = _U(0x00FF00FF00FF00FF)
_HALF_PAIRS = _U(0x0000FFFF0000FFFF)
_LOW_HALF = _U(0xFFFFFFFF)
_NIBBLE_BIT3 = _U(0x8888888888888888)
_BYTE_BIT3 = _U(0x0808080808080808)
MAX_INT64_DIGITS = 18  # every 18-digit decimal fits int64; more digits go to Python ints


def lane_mask(first: int, last: int) -> np.uint64:
    """Mask of byte lanes ``first .. last - 1`` (lane 0 is the least significant byte)."""
    return _U(((1 << (8 * last)) - 1) ^ ((1 << (8 * first)) - 1))


def _merge(x: np.ndarray, bits: int, mask: np.uint64, factor: int) -> np.ndarray:
    """Merge neighbouring ``bits``-wide lanes: high lane * ``factor`` + low lane, in lanes twice as wide."""
    high = (x >> _U(bits)) & mask
    high *= _U(factor)
    high += x & mask
    return high


def _bcd_bytes(d: np.ndarray) -> np.ndarray:
    """Eight decimal digits in byte lanes (most significant in the top lane) -> their value."""
    return _merge(_merge(_merge(d, 8, _BYTE_PAIRS, 10), 16, _HALF_PAIRS, 100), 32, _LOW_HALF, 10000)


def _bcd_nibbles(x: np.ndarray) -> np.ndarray:
    """Sixteen decimal digits in nibble lanes -> their value (below 10**16, so it fits int64)."""
    pairs = _merge(x, 4, _LOW_NIBBLES, 10)
    return _merge(_merge(_merge(pairs, 8, _BYTE_PAIRS, 100), 16, _HALF_PAIRS, 10000), 32, _LOW_HALF, 10**8)


def _nibble_above_9(x: np.ndarray) -> np.ndarray:
    """Non-zero where some nibble lane of ``x`` holds A-F (bit 3 set together with bit 2 or bit 1)."""
    return x & ((x << _U(1)) | (x << _U(2))) & _NIBBLE_BIT3


def _combine(parts: list[np.ndarray], base: int, total_digits: int) -> np.ndarray:
    """Sum ``parts[k] * base**k``: int64 when ``total_digits`` fits, else an array of Python ints."""
    if total_digits <= MAX_INT64_DIGITS:
        value = parts[-1].astype(np.int64)
        for part in reversed(parts[:-1]):
            value *= base
            value += part.astype(np.int64)
        return value
    value = parts[-1].astype(np.int64).astype(object)
    for part in reversed(parts[:-1]):
        value = value * base + part.astype(np.int64).astype(object)
    return value


def _apply_sign(magnitude: np.ndarray, negative: np.ndarray | None) -> np.ndarray:
    if negative is None or not negative.any():
        return magnitude
    return np.where(negative, -magnitude, magnitude)


@dataclass(frozen=True, slots=True)
class ZonedSpec:
    """How one zoned field's bytes are laid out, compiled from its ``Field`` and the code page.

    ``start``/``end`` bound the digit bytes inside the field (a separate sign byte is outside them).
    ``zone`` is the byte of digit 0 (``F0`` EBCDIC, ``30`` ASCII). ``punch_at`` is the byte (relative
    to the field) whose value goes through ``punch_digit`` (digit or 255 when the byte is not allowed
    there) and ``punch_negative``; ``sign_at`` is the separate sign byte, read through ``sign_table``
    (+1, -1, or 0 when the byte is not a sign).
    """

    start: int
    end: int
    zone: int
    punch_at: int | None
    punch_digit: np.ndarray | None
    punch_negative: np.ndarray | None
    sign_at: int | None
    sign_table: np.ndarray | None

    @property
    def digits(self) -> int:
        return self.end - self.start


def decode_zoned(rows: np.ndarray, slot: Slot, spec: ZonedSpec) -> tuple[np.ndarray, np.ndarray]:
    """Zoned decimal (DISPLAY) values and the bad-occurrence mask."""
    zone_word = _U(spec.zone * 0x0101010101010101)
    parts: list[np.ndarray] = []
    bad: np.ndarray | None = None
    negative: np.ndarray | None = None
    end = spec.end
    while end > spec.start:
        width = min(WORD, end - spec.start)
        x = word_view(rows, slot, end)
        lanes = lane_mask(0, width)
        punched_lane = None
        if spec.punch_at is not None and end - WORD <= spec.punch_at < end:
            punched_lane = end - 1 - spec.punch_at
            lanes ^= lane_mask(punched_lane, punched_lane + 1)
        flaws = (x ^ zone_word) & (_HIGH_NIBBLES & lanes)
        digits = x & (_LOW_NIBBLES & lanes)
        flaws |= digits & ((digits << _U(1)) | (digits << _U(2))) & _BYTE_BIT3
        if punched_lane is not None:
            assert spec.punch_at is not None
            assert spec.punch_digit is not None and spec.punch_negative is not None
            punched = byte_view(rows, slot, spec.punch_at, 1)[..., 0]
            digit = spec.punch_digit[punched]
            flaws |= (digit == 255).astype(np.uint64)
            digits |= (digit & 0x0F).astype(np.uint64) << _U(8 * punched_lane)
            negative = spec.punch_negative[punched]
        bad = flaws if bad is None else bad | flaws
        parts.append(_bcd_bytes(digits))
        end -= WORD
    assert bad is not None
    bad_mask = bad != 0
    if spec.sign_at is not None:
        assert spec.sign_table is not None
        sign = spec.sign_table[byte_view(rows, slot, spec.sign_at, 1)[..., 0]]
        bad_mask |= sign == 0
        negative = sign < 0
    return _apply_sign(_combine(parts, 10**8, spec.digits), negative), bad_mask


@dataclass(frozen=True, slots=True)
class PackedSpec:
    """A packed (COMP-3) field: ``digits`` of the PICTURE, ``sign_table`` maps the sign nibble to
    +1, -1 or 0 (not allowed)."""

    digits: int
    sign_table: np.ndarray


def decode_packed(rows: np.ndarray, slot: Slot, spec: PackedSpec) -> tuple[np.ndarray, np.ndarray]:
    """Packed decimal values and the bad-occurrence mask (digit nibble above 9, sign nibble not allowed,
    or a leading nibble beyond the PICTURE's digits)."""
    size = slot.size
    words = [word_view(rows, slot, end) for end in range(size, 0, -WORD)]
    words[-1] &= lane_mask(0, size - WORD * (len(words) - 1))
    sign = spec.sign_table[(words[0] & _U(0x0F)).astype(np.intp)]
    bad = sign == 0
    # Shift the digit nibbles down by one nibble (dropping the sign), carrying across words, so that
    # each word again holds sixteen whole digits.
    parts = []
    for k, word in enumerate(words):
        digits = word >> _U(4)
        if k + 1 < len(words):
            digits |= words[k + 1] << _U(60)
        bad |= _nibble_above_9(digits) != 0
        parts.append(_bcd_nibbles(digits))
    if 2 * size - 1 > spec.digits:
        # An even digit count leaves one spare leading nibble, which must be 0. Checked on the top
        # word alone (the lower ones are below 10**16 when valid), before combining can overflow.
        bad |= parts[-1] >= _U(10 ** (spec.digits - 16 * (len(parts) - 1)))
    return _apply_sign(_combine(parts, 10**16, spec.digits), sign < 0), bad


def decode_binary(
    rows: np.ndarray, slot: Slot, *, signed: bool, byte_order: str
) -> tuple[np.ndarray, np.ndarray]:
    """Two's complement or unsigned binary of 1, 2, 4 or 8 bytes (never invalid: TRUNC(BIN) semantics).

    Unsigned 8-byte values stay ``uint64`` (they may exceed int64); everything else is ``int64``.
    """
    code = (">" if byte_order == "big" else "<") + ("i" if signed else "u") + str(slot.size)
    raw = byte_view(rows, slot).view(code)[..., 0]
    values = raw.astype(np.uint64 if code[1:] == "u8" else np.int64)
    return values, np.zeros(values.shape, dtype=bool)


def decode_ieee_float(rows: np.ndarray, slot: Slot, *, byte_order: str) -> tuple[np.ndarray, np.ndarray]:
    """IEEE 754 binary32/binary64 as float64; NaN and infinity are bad (a record cannot carry them)."""
    code = (">" if byte_order == "big" else "<") + "f" + str(slot.size)
    with np.errstate(invalid="ignore"):  # widening a signalling NaN raises the invalid flag; it is bad anyway
        values = byte_view(rows, slot).view(code)[..., 0].astype(np.float64)
    return values, ~np.isfinite(values)


def decode_ibm_float(rows: np.ndarray, slot: Slot) -> tuple[np.ndarray, np.ndarray]:
    """IBM System/360 hexadecimal floating point (4 or 8 bytes) as the nearest float64.

    The fraction is converted to float64 first (round to nearest, ties to even, as ``math.ldexp`` does
    with an int) and then scaled by an exact power of two, so the result equals the reference's.
    """
    bits = slot.size * 8 - 8
    word = byte_view(rows, slot).view(">u" + str(slot.size))[..., 0].astype(np.uint64)
    exponent = ((word >> _U(bits)) & _U(0x7F)).astype(np.int64)
    fraction = (word & _U((1 << bits) - 1)).astype(np.float64)
    values = np.ldexp(fraction, (4 * (exponent - 64) - bits).astype(np.int32))
    negative = (word >> _U(bits + 7)) != 0
    values = np.where(negative, -values, values)
    return values, np.zeros(values.shape, dtype=bool)
