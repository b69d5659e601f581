"""Where a field's occurrences sit in a block of records, and strided numpy views onto them.

The block path handles N records as one ``uint8`` array of shape ``(N, record_length)``. A field with
OCCURS tables has occurrences at ``offset + i0 * stride0 + i1 * stride1 + ...``; :class:`Slot` keeps that
geometry and :func:`byte_view` / :func:`word_view` turn it into zero-copy views of shape
``(n, count0, count1, ..., width)`` with ``numpy.lib.stride_tricks.as_strided``, so that every kernel
handles all records *and* all occurrences of a field with one numpy call per step.

Numeric kernels read big-endian 8-byte words that *end* at a field's last byte, so a word may start up to
7 bytes before the field; the kernels mask those lanes off. Near the record start the word is read from
the row's first 8 bytes and shifted instead. Only where that does not fit either (records shorter than a
word plus a table's extent) does the decoder copy records into a work buffer with :data:`PAD` zero bytes in
front of each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from adapters.codecs.copybook.layout import Field

__all__ = ["PAD", "Slot", "byte_view", "word_fits", "word_view"]

PAD = 8  # zero bytes in front of every record in a decode work buffer
WORD = 8  # bytes per SWAR word


@dataclass(frozen=True, slots=True)
class Slot:
    """The byte geometry of one field: first occurrence's offset, size, and the OCCURS grid.

    ``counts`` and ``strides`` have one entry per enclosing table, outermost first (the maximum layout).
    """

    offset: int
    size: int
    counts: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()

    @classmethod
    def of(cls, field: Field) -> Slot:
        return cls(
            field.offset,
            field.size,
            tuple(dim.count for dim in field.dims),
            tuple(dim.stride for dim in field.dims),
        )

    @property
    def shape(self) -> tuple[int, ...]:
        """The occurrence shape (without the record axis)."""
        return self.counts

    def shifted(self, by: int) -> Slot:
        """The same slot ``by`` bytes further into the row (used for the decode padding)."""
        return Slot(self.offset + by, self.size, self.counts, self.strides)

    def occurrence_offsets(self) -> np.ndarray:
        """Byte offset (inside the record) of every occurrence, shaped like the occurrence grid."""
        offsets = np.full(self.counts, self.offset, dtype=np.int64)
        for axis, (count, stride) in enumerate(zip(self.counts, self.strides, strict=True)):
            shape = [1] * len(self.counts)
            shape[axis] = count
            offsets = offsets + (np.arange(count, dtype=np.int64) * stride).reshape(shape)
        return offsets


def byte_view(rows: np.ndarray, slot: Slot, start: int = 0, width: int | None = None) -> np.ndarray:
    """A view ``(n, *counts, width)`` of bytes ``start .. start + width`` of every occurrence.

    ``rows`` is a C-contiguous ``uint8`` array ``(n, row_length)``; nothing is copied. The view is
    writeable when ``rows`` is, so encoders write through it.
    """
    width = slot.size - start if width is None else width
    base = rows[:, slot.offset + start :]
    return as_strided(
        base,
        shape=(rows.shape[0], *slot.counts, width),
        strides=(rows.strides[0], *slot.strides, 1),
        writeable=rows.flags.writeable,
    )


def word_fits(slot: Slot, end: int, row_length: int) -> bool:
    """Whether :func:`word_view` can read the word ending at ``end`` from unpadded rows."""
    start = max(slot.offset + end - WORD, 0)
    last = start + sum((c - 1) * s for c, s in zip(slot.counts, slot.strides, strict=True))
    return last + WORD <= row_length


def word_view(rows: np.ndarray, slot: Slot, end: int) -> np.ndarray:
    """The 8 bytes ending at byte ``end`` of every occurrence, as native ``uint64`` ``(n, *counts)``.

    Byte ``end - 8`` of the occurrence lands in the most significant lane (big-endian), so the field's
    last byte is the lowest lane. ``end - 8`` may lie before the occurrence (the caller masks those
    lanes). Where it would lie before the row, the first 8 bytes of the row are read and shifted down
    instead, which needs ``word_fits``; rows padded in front (:data:`PAD`) never need it.
    """
    start = slot.offset + end - WORD
    if start >= 0:
        return byte_view(rows, slot, end - WORD, WORD).view(">u8")[..., 0].astype(np.uint64)
    window = as_strided(
        rows, shape=(rows.shape[0], *slot.counts, WORD), strides=(rows.strides[0], *slot.strides, 1)
    )
    return window.view(">u8")[..., 0].astype(np.uint64) >> np.uint64(-8 * start)
