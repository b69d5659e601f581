"""What the record readers yield: a chunk of decoded records as columns, plus the records that did not decode.

Every reader (CSV, JSON Lines, fixed-width) produces :class:`DecodedChunk` objects, so that the transports
(the folder protocol, ``bridgeway score``) handle one shape whatever the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BadRecord", "DecodedChunk"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be decoded at all: its 1-based number, the field at fault ("" when the
    record as a whole is malformed) and why."""

    record_number: int
    field: str
    reason: str


@dataclass(slots=True)
class DecodedChunk:
    """Consecutive records of one input, as columns.

    ``columns[name][i]`` is field ``name`` of the i-th decoded record, whose 1-based record number is
    ``record_numbers[i]`` (ascending). ``bad`` lists the records of the same stretch of input that did not
    decode, also ascending. ``fields`` names every field the input has (a CSV header, a copybook's items),
    which may be more than the columns read.
    """

    columns: dict[str, Any]
    record_numbers: np.ndarray
    bad: list[BadRecord] = field(default_factory=list)
    fields: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return len(self.record_numbers)

    @property
    def last_record(self) -> int:
        """The highest record number this chunk accounts for (decoded or bad); 0 for an empty chunk."""
        top = int(self.record_numbers[-1]) if len(self.record_numbers) else 0
        return max([top, *(b.record_number for b in self.bad)])
