"""Columns: what the block path decodes to, and what its encoder takes.

A :class:`Column` holds one elementary field for N records: ``values`` shaped ``(N, *occurs counts)``
plus a ``bad`` mask of occurrences whose bytes did not decode and a ``present`` mask of occurrences that
exist in their record (an OCCURS ... DEPENDING ON counter below the maximum, or a REDEFINES member the
segment field did not select). Decimal kinds keep exact *unscaled* integers (``int64``; ``object`` arrays
of Python ints beyond 18 digits; ``uint64`` for unsigned 8-byte binary) with the field's ``scale``:
the value is ``values * 10 ** -scale``. Floats are ``float64``, text is a numpy ``str`` array.

>>> import numpy as np
>>> from adapters.codecs.copybook.parser import parse_copybook
>>> field = parse_copybook("01 R. 05 AMT PIC S9(3)V99 COMP-3.").fields[0]
>>> col = Column(field, np.array([3050, -5]), np.zeros(2, dtype=bool))
>>> col.decimals().tolist(), col.floats().tolist()
([Decimal('30.50'), Decimal('-0.05')], [30.5, -0.05])
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from adapters.codecs.copybook.layout import Field, Kind

__all__ = ["Column", "exact"]


def _with_overrides(values: np.ndarray, overrides: dict[tuple[int, ...], object]) -> np.ndarray:
    if not overrides:
        return values
    if values.dtype.kind == "U":
        width = values.dtype.itemsize // 4
        texts = [v for v in overrides.values() if isinstance(v, str)]
        if any(t.endswith("\x00") or len(t) > width for t in texts):
            values = values.astype(object)  # numpy str arrays cannot hold a trailing NUL
    for at, value in overrides.items():
        values[at] = value
    return values


def exact(unscaled: int, scale: int) -> int | Decimal:
    """The value of stored digits exactly as the reference gives it: ``int`` without a fraction, else a
    ``Decimal`` with exponent ``-scale`` (``exact(3050, 2)`` is ``Decimal('30.50')``)."""
    if scale <= 0:
        return int(unscaled * 10**-scale)
    return Decimal(f"{unscaled}E-{scale}")


class Column:
    """One field's values for a block of records; see the module docstring.

    A text column holds each occurrence's raw bytes (``raw``) and builds its ``str`` values with
    ``materialize`` on first use of ``values``: no cost for text nobody reads. ``overrides`` holds the
    values of the few occurrences the reference decoded instead (``(record, *subscripts) -> value``).
    """

    __slots__ = ("_materialize", "_values", "bad", "field", "overrides", "present", "raw")

    def __init__(
        self,
        field: Field,
        values: np.ndarray,
        bad: np.ndarray,
        present: np.ndarray | None = None,
        *,
        materialize: Callable[[np.ndarray], np.ndarray] | None = None,
        overrides: dict[tuple[int, ...], object] | None = None,
    ) -> None:
        self.field = field
        self.bad = bad
        self.present = present  # None: every occurrence exists
        self.overrides = overrides or {}
        self._materialize = materialize
        self.raw: np.ndarray | None = values if materialize is not None else None
        self._values: np.ndarray | None = None
        if materialize is None:
            self._values = _with_overrides(values, self.overrides)

    @property
    def values(self) -> np.ndarray:
        """``(N, *counts)``: unscaled integers, floats or ``str`` (see the module docstring)."""
        if self._values is None:
            assert self._materialize is not None and self.raw is not None
            self._values = _with_overrides(self._materialize(self.raw), self.overrides)
        return self._values

    @property
    def name(self) -> str:
        return self.field.qualified_name

    @property
    def scale(self) -> int:
        """Decimal places of the unscaled integers (0 for text and floats)."""
        return self.field.scale if self.decimal else 0

    @property
    def decimal(self) -> bool:
        return self.field.kind not in (Kind.ALNUM, Kind.NATIONAL, Kind.FLOAT_IBM, Kind.FLOAT_IEEE)

    @property
    def valid(self) -> np.ndarray:
        """Occurrences that exist and decoded."""
        return ~self.bad if self.present is None else self.present & ~self.bad

    def decimals(self) -> np.ndarray:
        """An ``object`` array of exact values (``int`` or ``Decimal``), the reference's value types, with
        ``None`` where an occurrence is bad or does not exist (as the reference's nulls).

        Text and float columns come back as ``object`` arrays of their ``str`` / ``float`` values.
        """
        if not self.decimal:
            out = self.values.astype(object)
        else:
            scale = self.field.scale
            out = np.empty(self.values.shape, dtype=object)
            flat = out.reshape(-1)
            flat[:] = [exact(int(v), scale) for v in self.values.reshape(-1).tolist()]
        valid = self.valid
        if not valid.all():
            out[~valid] = None
        return out

    def floats(self) -> np.ndarray:
        """``float64`` values for model input (the only place a decimal becomes binary floating point);
        NaN where an occurrence is bad or does not exist."""
        if not self.decimal:
            if self.values.dtype.kind not in "fc":
                raise TypeError(f"text field {self.name} has no numeric value")
            values = self.values.astype(np.float64)
        else:
            values = self.values.astype(np.float64)
            scale = self.field.scale
            values = values / 10.0**scale if scale > 0 else values * 10.0**-scale
        valid = self.valid
        return values if valid.all() else np.where(valid, values, np.nan)
