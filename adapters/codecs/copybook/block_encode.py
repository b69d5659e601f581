"""Block encoding: columns of N records -> N records' bytes, plus per-record errors.

:func:`encode_block` writes every field of every record with the vectorised kernels of ``plan_encode``
into one ``(N, record_length)`` buffer pre-filled with spaces (FILLER and unused table occurrences stay
spaces, as the reference writes them). It applies the reference encoder's record rules column-wise:
of a REDEFINES chain the member the segment map selects, else the first member carrying data; DEPENDING ON
tables as long as their counter says. A record the block path cannot settle alone — a value that does not
fit, a missing value, a counter out of range, an unknown segment, a table whose shorter length moves later
items — is *flagged* and encoded by the reference ``RecordEncoder`` instead, which yields its bytes or its
exact error. So ``EncodedBlock`` equals, record for record, what the reference produces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters.codecs.copybook.blocks import Slot, byte_view
from adapters.codecs.copybook.columns import exact
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.layout import Field, Kind
from adapters.codecs.copybook.shapes import Path, record_builder
from adapters.codecs.errors import RecordEncodeError

if TYPE_CHECKING:
    from adapters.codecs.copybook.compiled import BlockCodec

__all__ = ["EncodeInput", "EncodedBlock", "encode_block"]


@dataclass(frozen=True, slots=True)
class EncodeInput:
    """Values to encode, per field path: ``values[path]`` shaped ``(N, *counts)`` as in ``Column``
    (unscaled integers at the field's scale, floats, ``str``), ``valid[path]`` where a value is given.

    ``flagged`` marks records known to need the reference (the JSON path's structural problems);
    ``originals(i)`` gives record ``i`` in the reference's dict shape, handed to the reference for flagged
    records (default: built from the columns);
    ``problems[path]`` marks given values the columns cannot represent (the record is flagged if such an
    occurrence is written).
    """

    n: int
    values: dict[Path, np.ndarray]
    valid: dict[Path, np.ndarray]
    flagged: np.ndarray
    originals: Callable[[int], Mapping[str, Any]] | None = None
    problems: dict[Path, np.ndarray] | None = None


@dataclass(frozen=True, slots=True)
class EncodedBlock:
    """Encoded records: ``block`` row ``i`` holds record ``i`` in its first ``lengths[i]`` bytes
    (``lengths[i] == 0`` when it failed); ``errors`` lists the failures in record order; ``fallback``
    marks the records the reference encoder wrote (or rejected) instead of the vectorised path."""

    block: np.ndarray
    lengths: np.ndarray
    errors: list[RecordEncodeError]
    fallback: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.lengths > 0

    def record(self, i: int) -> bytes | None:
        return self.block[i, : self.lengths[i]].tobytes() if self.lengths[i] else None

    def records(self) -> list[bytes | None]:
        return [self.record(i) for i in range(len(self.lengths))]

    @property
    def data(self) -> bytes:
        """Every encoded record back to back, in order, failed ones left out."""
        width = self.block.shape[1]
        if bool((self.lengths == width).all()):
            return self.block.tobytes()
        keep = np.arange(width)[None, :] < self.lengths[:, None]
        return self.block[keep].tobytes()


def encode_block(codec: BlockCodec, given: EncodeInput, first_record: int) -> EncodedBlock:
    """Encode ``given``; see the module docstring."""
    n, length = given.n, codec.record_length
    out = np.full((n, length), codec.encode_options.codepage.space, dtype=np.uint8)
    flagged = given.flagged.copy()
    counts = _counts(codec, given, flagged)
    writes = _member_masks(codec, given, counts, flagged)
    for field, kernel in codec.encoding.encoders:
        values = given.values[field.path]
        write = _write_mask(codec, field, writes, counts, n)
        slot = Slot.of(field)
        missing = None if given.valid[field.path].all() else ~given.valid[field.path]
        unfit = given.problems.get(field.path) if given.problems else None
        for start in range(0, n, codec.chunk_records):
            stop = min(start + codec.chunk_records, n)
            data, problem = kernel(values[start:stop])
            view = byte_view(out[start:stop], slot)
            part = None if write is None else write[start:stop]
            if part is None:
                view[...] = data
            else:
                np.copyto(view, data, where=part[..., None])
            trouble = problem
            for extra in (missing, unfit):
                if extra is not None:
                    trouble = trouble | extra[start:stop]
            if part is not None:
                trouble = trouble & part
            if trouble.any():
                flagged[start:stop] |= trouble.reshape(stop - start, -1).any(axis=1)
    lengths = np.full(n, length, dtype=np.int64)
    if codec.encoding.tail_table is not None:
        owner, dim = codec.encoding.tail_table
        lengths -= (dim.count - counts[owner]) * dim.stride
    errors = _resolve(codec, given, np.flatnonzero(flagged), out, lengths, first_record)
    return EncodedBlock(out, lengths, errors, flagged)


def _counts(codec: BlockCodec, given: EncodeInput, flagged: np.ndarray) -> dict[Path, np.ndarray]:
    """DEPENDING ON counts per table from the counters' values; a counter that is not a usable count (or,
    where shorter tables move later items, any count below the maximum) flags the record."""
    counts = {}
    for owner, dim in codec.odo_tables.items():
        assert dim.depending_on is not None
        counter = given.values.get(dim.depending_on)
        field = codec.layout.field(".".join(dim.depending_on))
        if counter is None or field.dims or field.scale != 0 or counter.dtype.kind not in "iu":
            flagged[:] = True
            counts[owner] = np.full(given.n, dim.count, dtype=np.int64)
            continue
        usable = given.valid[dim.depending_on] & (counter >= 0) & (counter <= dim.count)
        flagged |= ~usable
        count = np.where(usable, counter, dim.count).astype(np.int64)
        if codec.encode_options.odo == "shift" and (
            codec.encoding.tail_table is None or codec.encoding.tail_table[0] != owner
        ):
            flagged |= count < dim.count
        counts[owner] = count
    return counts


def _member_masks(
    codec: BlockCodec, given: EncodeInput, counts: dict[Path, np.ndarray], flagged: np.ndarray
) -> dict[int, np.ndarray]:
    """Per REDEFINES member (by id), the records whose bytes it writes."""
    masks: dict[int, np.ndarray] = {}
    selected = _selected(codec, given, flagged)
    for chain in codec.encoding.chains:
        if any(id(node) in codec.encoding.mapped for node in chain):
            for node in chain:
                masks[id(node)] = np.array([s == node.path for s in selected], dtype=bool)
            continue
        open_ = np.ones(given.n, dtype=bool)
        for node in chain:
            carries = np.zeros(given.n, dtype=bool)
            for field in codec.encoding.member_fields[id(node)]:
                given_here = given.valid[field.path]
                reach = _write_mask(codec, field, {}, counts, given.n, members=False)
                if reach is not None:
                    given_here = given_here & reach
                carries |= given_here.reshape(given.n, -1).any(axis=1)
            masks[id(node)] = open_ & carries
            open_ &= ~carries
        flagged |= open_  # no member carries data: the reference says so
    return masks


def _selected(codec: BlockCodec, given: EncodeInput, flagged: np.ndarray) -> list[Path | None]:
    if codec.encoding.segment is None:
        return []
    path = codec.encoding.segment.path
    values = given.values[path].tolist()
    keys = [str(v).rstrip(" \x00") if ok else "" for v, ok in zip(values, given.valid[path], strict=True)]
    selected = [codec.encoding.branches.get(key) for key in keys]
    flagged |= np.array([s is None for s in selected], dtype=bool)
    return selected


def _write_mask(
    codec: BlockCodec,
    field: Field,
    chosen_members: dict[int, np.ndarray],
    counts: dict[Path, np.ndarray],
    n: int,
    *,
    members: bool = True,
) -> np.ndarray | None:
    """Occurrences of ``field`` to write: its chain members chose it (unless ``members`` is false), and
    its DEPENDING ON counts reach it. ``None`` means every occurrence."""
    mask: np.ndarray | None = None
    shape = (n, *(d.count for d in field.dims))
    for node_id in codec.encoding.field_members[field.path] if members else ():
        chosen = chosen_members[node_id].reshape(-1, *([1] * len(field.dims)))
        mask = np.broadcast_to(chosen, shape) if mask is None else mask & chosen
    for axis, dim in enumerate(field.dims):
        if dim.owner in counts:
            reach = [1] * (len(field.dims) + 1)
            reach[0], reach[axis + 1] = n, dim.count
            allowed = (np.arange(dim.count)[None, :] < counts[dim.owner][:, None]).reshape(reach)
            mask = np.broadcast_to(allowed, shape) if mask is None else mask & allowed
    return None if mask is None else np.ascontiguousarray(mask)


def _resolve(
    codec: BlockCodec,
    given: EncodeInput,
    which: np.ndarray,
    out: np.ndarray,
    lengths: np.ndarray,
    first_record: int,
) -> list[RecordEncodeError]:
    """Encode the flagged records with the reference: their bytes, or their errors."""
    if not len(which):
        return []
    encoder = RecordEncoder(codec.layout, codec.encode_options)
    record_of = given.originals or _builder(codec, given)
    errors = []
    for i in which.tolist():
        record = record_of(i)
        out[i] = codec.encode_options.codepage.space
        try:
            data = encoder.encode(record, first_record + i)
        except RecordEncodeError as exc:
            errors.append(exc)
            lengths[i] = 0
            continue
        out[i, : len(data)] = np.frombuffer(data, dtype=np.uint8)
        lengths[i] = len(data)
    return errors


def _builder(codec: BlockCodec, given: EncodeInput) -> Any:
    """Records in the reference's dict shape from the columns (for flagged records only)."""
    lists: dict[Path, list[Any]] = {}
    for field in codec.layout.fields:
        if field.filler:
            continue
        values = given.values[field.path].astype(object)
        if field.kind not in (Kind.ALNUM, Kind.NATIONAL, Kind.FLOAT_IBM, Kind.FLOAT_IEEE):
            values = np.frompyfunc(
                lambda v, s=field.scale: exact(int(v), s) if v is not None else None, 1, 1
            )(values)
        values[~given.valid[field.path]] = None
        lists[field.path] = values.tolist()
    counts = {}
    for owner, dim in codec.odo_tables.items():
        assert dim.depending_on is not None
        count = np.where(given.valid[dim.depending_on], given.values[dim.depending_on], dim.count)
        counts[owner] = np.clip(count, 0, dim.count).astype(np.int64).tolist()
    return record_builder(codec.layout, lists, counts, None, set())
