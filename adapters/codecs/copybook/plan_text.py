"""Decode plans of text fields (PIC X / A / N) for the block path; see ``vector_text`` for the kernels.

A text column keeps each occurrence's raw bytes (``uint8``, ``(N, *counts, size)``) and turns them into
``str`` when first read (``columns.Column.values``), so decoding a block costs for text only what judging
it needs. Values the tables cannot settle — bytes without a code point of their own (UTF-8 sequences,
bytes outside ASCII), UTF-16 surrogates, trailing NULs a non-trimming mode keeps — are decoded by the
reference right away and kept as overrides, so that every value and error equals the reference's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from adapters.codecs.copybook import vector_text as vt
from adapters.codecs.copybook.blocks import Slot, byte_view
from adapters.codecs.copybook.codepages import Codepage
from adapters.codecs.copybook.layout import Field, Kind
from adapters.codecs.copybook.plans import ChunkResult, DecodePlan, Kernel, redo

__all__ = ["text_plan"]


def text_plan(field: Field, slot: Slot, at: Slot, codepage: Codepage, trim: str) -> DecodePlan:
    """The plan of a text field whose bytes sit at ``at`` in the rows the kernels get."""
    tables = None if field.kind == Kind.NATIONAL else vt.text_tables(codepage)
    if field.kind != Kind.NATIONAL and tables is None:
        return DecodePlan(field, slot, np.dtype(object), _reference_kernel(field, at, codepage, trim))
    materialize: Callable[[np.ndarray], np.ndarray]
    if tables is None:
        materialize = lambda raw: vt.materialize_utf16(raw, trim, field.justified)  # noqa: E731
    else:
        materialize = lambda raw: vt.materialize(raw, tables, trim, field.justified)  # noqa: E731
    kernel = _kernel(field, at, tables, codepage, trim)
    return DecodePlan(field, slot, np.dtype(np.uint8), kernel, (field.size,), materialize)


def _kernel(field: Field, slot: Slot, tables: vt.TextTables | None, codepage: Codepage, trim: str) -> Kernel:
    def run(rows: np.ndarray) -> ChunkResult:
        raw = byte_view(rows, slot)
        if tables is None:
            slow: np.ndarray | None = vt.utf16_surrogates(raw)
            last = raw[..., -2].astype(np.uint32) << 8 | raw[..., -1]
        else:
            slow = vt.undecodable(raw, tables)
            last = tables.decode[raw[..., -1]]
        keep_nul = vt.keeps_trailing_nul(last, trim, field.justified)
        if keep_nul is not None:
            slow = keep_nul if slow is None else slow | keep_nul
        bad = np.zeros(raw.shape[:-1], dtype=bool)
        if slow is None or not slow.any():
            return raw, bad, None
        return raw, bad, redo(field, raw, slow, bad, codepage, trim)

    return run


def _reference_kernel(field: Field, slot: Slot, codepage: Codepage, trim: str) -> Kernel:
    """A page the tables cannot describe (its byte 00 is not NUL): the reference decodes every value."""

    def run(rows: np.ndarray) -> ChunkResult:
        raw = byte_view(rows, slot)
        values = np.full(raw.shape[:-1], "", dtype=object)
        bad = np.zeros(raw.shape[:-1], dtype=bool)
        for at, value in redo(field, raw, np.ones(raw.shape[:-1], dtype=bool), bad, codepage, trim).items():
            values[at] = value
        return values, bad, None

    return run
