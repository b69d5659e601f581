"""Numeric encode kernels of the block path: unscaled integers (or floats) -> field bytes, all at once.

Each kernel takes a value array shaped ``(n, *counts)`` and returns the field's bytes ``(n, *counts, size)``
(``uint8``). Range checks are the caller's (``plan_encode``); these kernels assume values that fit, and
produce what ``numeric.py`` produces one value at a time.

Decimal digits are produced eight at a time by SWAR arithmetic, the inverse of ``vector_decode``: an
8-digit number is split into two 4-digit halves in 32-bit lanes, each half into two 2-digit quarters in
16-bit lanes, each quarter into digits in byte lanes, using multiply-and-shift division by 100 and by 10,
which stays inside each lane for numbers this small.
"""

from __future__ import annotations

import numpy as np

__all__ = ["digit_bytes", "ibm_float_bytes", "ieee_float_bytes", "int_bytes", "packed_bytes"]

_U = np.uint64
_EIGHT_DIGITS = 10**8


def _split_8(w: np.ndarray) -> np.ndarray:
    """An array of numbers below 10**8 -> their eight decimal digits in byte lanes (most significant in
    the top lane)."""
    high = w // _U(10000)
    x = (high << _U(32)) | (w - high * _U(10000))
    # x // 100 per 32-bit lane: x * 5243 >> 19 is exact below 10**4 and the products stay in their lanes.
    q = ((x * _U(5243)) >> _U(19)) & _U(0x0000007F0000007F)
    x = (q << _U(16)) | (x - q * _U(100))
    # x // 10 per 16-bit lane: x * 103 >> 10 is exact below 100.
    q = ((x * _U(103)) >> _U(10)) & _U(0x000F000F000F000F)
    digits: np.ndarray = (q << _U(8)) | (x - q * _U(10))
    return digits


def _words(magnitude: np.ndarray, count: int, digits_per_word: int) -> list[np.ndarray]:
    """``magnitude`` cut into ``count`` words of ``digits_per_word`` digits, least significant first."""
    if magnitude.dtype == object:
        rest = magnitude
        words = []
        for _ in range(count):
            words.append((rest % 10**digits_per_word).astype(np.uint64))
            rest = rest // 10**digits_per_word
        return words
    rest = magnitude.astype(np.uint64)
    base = _U(10**digits_per_word)
    words = []
    for _ in range(count):
        quotient = rest // base
        words.append(rest - quotient * base)
        rest = quotient
    return words


def _bytes_of(words: list[np.ndarray], size: int) -> np.ndarray:
    """Big-endian bytes of ``words`` (least significant word first), keeping the last ``size`` bytes."""
    stacked = np.stack(list(reversed(words)), axis=-1).astype(">u8")  # stack would make it native again
    raw = stacked.view(np.uint8).reshape(*stacked.shape[:-1], 8 * len(words))
    return raw[..., raw.shape[-1] - size :]


def digit_bytes(magnitude: np.ndarray, digits: int, zone: int) -> np.ndarray:
    """The ``digits`` zoned bytes (``zone | digit``, no sign) of non-negative ``magnitude``."""
    count = -(-digits // 8)
    zone_word = _U(zone * 0x0101010101010101)
    words = [_split_8(w) | zone_word for w in _words(magnitude, count, 8)]
    return _bytes_of(words, digits)


def _bcd_8(w: np.ndarray) -> np.ndarray:
    """Numbers below 10**8 -> their eight digits as packed BCD in the low 32 bits."""
    d = _split_8(w)
    t = ((d >> _U(4)) | d) & _U(0x00FF00FF00FF00FF)  # digit pairs -> one byte each, in 16-bit lanes
    t = (t | (t >> _U(8))) & _U(0x0000FFFF0000FFFF)
    packed: np.ndarray = (t | (t >> _U(16))) & _U(0xFFFFFFFF)
    return packed


def packed_bytes(magnitude: np.ndarray, size: int, sign: np.ndarray) -> np.ndarray:
    """Packed decimal bytes: the digits of non-negative ``magnitude`` then the ``sign`` nibble."""
    digits = 2 * size - 1
    halves = [_bcd_8(w) for w in _words(magnitude, -(-digits // 8), 8)]
    # Two 8-digit BCD halves per 64-bit word, then everything moved up one nibble for the sign.
    words = [
        halves[k] | (halves[k + 1] << _U(32) if k + 1 < len(halves) else _U(0))
        for k in range(0, len(halves), 2)
    ]
    shifted = []
    for k, word in enumerate(words):
        low = word << _U(4)
        low |= (words[k - 1] >> _U(60)) if k else sign.astype(np.uint64)
        shifted.append(low)
    if len(words) * 16 < digits + 1:
        shifted.append(words[-1] >> _U(60))
    return _bytes_of(shifted, size)


def int_bytes(values: np.ndarray, size: int, signed: bool, byte_order: str) -> np.ndarray:
    """Two's complement (signed) or unsigned binary bytes of integers that fit ``size`` bytes."""
    code = (">" if byte_order == "big" else "<") + ("i" if signed else "u") + str(size)
    data = values.astype(code)
    return data.view(np.uint8).reshape(*values.shape, size)


def ieee_float_bytes(values: np.ndarray, size: int, byte_order: str) -> tuple[np.ndarray, np.ndarray]:
    """IEEE 754 bytes and the mask of values that overflow binary32 (they became infinite)."""
    code = (">" if byte_order == "big" else "<") + "f" + str(size)
    with np.errstate(over="ignore"):
        data = values.astype(code)
    overflow = np.isinf(data) & np.isfinite(values)
    return data.view(np.uint8).reshape(*values.shape, size), overflow


def ibm_float_bytes(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """IBM hexadecimal floating-point bytes (rounded to nearest, as ``numeric.encode_ibm_float``) and the
    mask of values beyond its range; values below its range become zero, as the hardware does."""
    bits = size * 8 - 8
    mantissa, exp2 = np.frexp(np.abs(values))
    exponent = -((-exp2) // 4)  # value = fraction * 16 ** exponent with 1/16 <= fraction < 1
    fraction = np.rint(np.ldexp(mantissa, exp2 - 4 * exponent + bits)).astype(np.uint64)
    carry = (fraction >> _U(bits)) != 0
    fraction = np.where(carry, fraction >> _U(4), fraction)
    exponent = exponent + carry
    overflow = (exponent + 64 > 127) & (values != 0)
    zero = (values == 0) | (exponent + 64 < 0)
    biased = np.clip(exponent + 64, 0, 127).astype(np.uint64)
    word = ((values < 0).astype(np.uint64) << _U(bits + 7)) | (biased << _U(bits)) | fraction
    word = np.where(zero, _U(0), word)
    data = word.astype(">u8").view(np.uint8).reshape(*values.shape, 8)
    return data[..., 8 - size :], overflow
