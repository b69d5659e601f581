"""The records a transport hands to the scoring pipeline, and the results it gets back.

Plain data, no inference: transports (files, AMQP, ``bridgeway score``) build a :class:`RecordBatch` and an
:data:`InputRef`, and encode a :class:`ScoredBatch` in their own format. ``adapters.pipeline`` re-exports
everything here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapters.mapping import Rejection

__all__ = [
    "FILE_LINEAGE_COLUMNS",
    "MESSAGE_LINEAGE_COLUMNS",
    "Column",
    "FileRef",
    "InputRef",
    "MessageRef",
    "RecordBatch",
    "ScoredBatch",
]

#: A column of a batch: one value per row. numpy arrays are used as they are; lists are accepted as input.
Column = np.ndarray | Sequence[Any]

#: Lineage columns of a result row scored from a file, in this order, after the output fields.
FILE_LINEAGE_COLUMNS: tuple[str, ...] = (
    "model_name",
    "model_version",
    "model_sha256",
    "input_name",
    "input_sha256",
    "record_no",
    "run_id",
    "processed_at",
)

#: Lineage columns of a result row scored from AMQP messages, in this order, after the output fields.
MESSAGE_LINEAGE_COLUMNS: tuple[str, ...] = (
    "model_name",
    "model_version",
    "model_sha256",
    "message_id",
    "correlation_id",
    "run_id",
    "processed_at",
)


@dataclass(frozen=True, slots=True)
class FileRef:
    """Identity of an input file: every row's lineage gets ``input_name``, ``input_sha256`` and its own
    ``record_no`` (from :attr:`RecordBatch.record_numbers`).

    ``name`` is the file's base name as the sender dropped it; ``sha256`` the hex digest of its content.
    """

    name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Identity of the AMQP messages a micro-batch was built from: one entry per ROW of the batch.

    A message holding a list of records contributes one entry per record, all with its ids. Both sequences
    have exactly as many entries as the batch has rows (checked by :meth:`ScoringPipeline.score`).
    """

    message_ids: Sequence[str]
    correlation_ids: Sequence[str]


#: Where a batch's records came from. Files and messages have different lineage columns.
InputRef = FileRef | MessageRef


@dataclass(slots=True)
class RecordBatch:
    """Decoded records as columns: ``columns[field][i]`` is field ``field`` of row ``i``.

    Invariants: every column has ``len(record_numbers)`` values; ``record_numbers`` are the 1-based record
    (or line) numbers of the rows in the input, unique within the batch, so that a rejection can be traced
    back. Field names are as the codec produced them (``MEAN-RADIUS``, ``mean_radius``...); matching to
    model fields is case-insensitive with ``-`` and ``_`` alike. A missing value is ``None`` (or NaN in a
    float column).
    """

    columns: Mapping[str, Column]
    record_numbers: np.ndarray

    def __post_init__(self) -> None:
        self.record_numbers = np.asarray(self.record_numbers, dtype=np.int64)
        n = len(self.record_numbers)
        for name, values in self.columns.items():
            if len(values) != n:
                raise ValueError(f"column {name!r} has {len(values)} values, expected {n} (one per record)")

    @property
    def n_rows(self) -> int:
        return len(self.record_numbers)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], first_record_no: int = 1) -> RecordBatch:
        """Columns from row objects (e.g. JSON request bodies); a key absent from a row becomes ``None``.

        A nested object (a copybook group) also yields a column per member under its dotted path
        (``{"claim": {"amount": 1}}`` -> ``claim`` and ``claim.amount``), so model fields can name members.
        Rows are numbered ``first_record_no``, ``first_record_no + 1``, ... This is a per-row Python loop,
        meant for message-sized batches; file codecs produce columns directly.

        >>> RecordBatch.from_records([{"id": 7, "claim": {"amount": 1.5}}]).columns["claim.amount"]
        [1.5]
        """
        flat = [_flatten(record) for record in records]
        names: dict[str, None] = {}
        for record in flat:
            names.update(dict.fromkeys(record))
        columns = {name: [record.get(name) for record in flat] for name in names}
        numbers = np.arange(first_record_no, first_record_no + len(records), dtype=np.int64)
        return cls(columns=columns, record_numbers=numbers)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        flat[path] = value
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{path}."))
    return flat


@dataclass(slots=True)
class ScoredBatch:
    """The result of scoring one :class:`RecordBatch`.

    ``columns`` holds, in this order: the carried fields (under the names given in ``carry``), the model's
    output fields (under the names model.yaml gives them), and the lineage columns
    (:data:`FILE_LINEAGE_COLUMNS` or :data:`MESSAGE_LINEAGE_COLUMNS`). Every column is a 1-D numpy array
    with one value per ACCEPTED row, in input order; text columns are object arrays of ``str``.

    ``indices`` are the 0-based positions of the accepted rows in the input batch and ``record_numbers``
    their record numbers. ``rejections`` lists every other row once, in input order.
    """

    columns: dict[str, np.ndarray]
    indices: np.ndarray
    record_numbers: np.ndarray
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Number of accepted (scored) rows."""
        return len(self.indices)

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per accepted row, with plain Python values (for JSON replies; a per-row loop)."""
        names = list(self.columns)
        lists = [self.columns[name].tolist() for name in names]
        for values in zip(*lists, strict=True):
            yield dict(zip(names, values, strict=True))
