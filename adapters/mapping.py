"""Business record fields <-> model tensors, as model.yaml (or a pipeline's override) maps them.

Columnar by design: a batch arrives as columns (field -> numpy array or list) and each input tensor is built
with one vectorised conversion per field and one ``np.column_stack``; per-value Python work happens only for
the rows of a column that failed the vectorised conversion, to find which rows are bad and why.

Field names match case-insensitively with ``-`` and ``_`` alike and surrounding blanks ignored, so COBOL
``MEAN-RADIUS`` feeds ``mean_radius``. A dotted field path from a nested record (``CLAIM.ACCT.BALANCE``) also
matches on its last segment when that is unambiguous.

Defaults for a model without model.yaml: an input ``x`` of shape ``[N]`` or ``[N, 1]`` reads field ``x``; an
input of shape ``[N, k]`` reads fields ``x_0 .. x_{k-1}``. Outputs are named the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters._convert import BadRows, convert_column
from gateway.datatypes import Datatype, by_name
from gateway.errors import RuntimeFailure
from gateway.types import ModelConfigInfo, ModelMetadata, Tensor, TensorFields, TensorSpec

__all__ = [
    "DEFAULT_ROWS_PER_CALL",
    "EncodedInputs",
    "FieldMapping",
    "InputPlan",
    "MappingConfigError",
    "MappingOverride",
    "OutputPlan",
    "Rejection",
    "decode_outputs",
    "encode_inputs",
    "find_field",
    "normalise",
    "resolve_mapping",
]

#: Rows per inference call for a model that accepts any batch size and declares no max_batch_size.
DEFAULT_ROWS_PER_CALL = 1024

# Result column names the pipeline adds; carried fields and outputs must not take them.
_LINEAGE_NAMES = frozenset(
    {
        "model_name",
        "model_version",
        "model_sha256",
        "input_name",
        "input_sha256",
        "record_no",
        "message_id",
        "correlation_id",
        "run_id",
        "processed_at",
    }
)


class MappingConfigError(ValueError):
    """The field mapping cannot work for this model and these records (a configuration error, not a row's).

    Raised when a pipeline is built or its record fields are checked; the message names the model, the
    tensor and the fields involved.
    """


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record that was not scored: its 1-based record number, the field at fault and why.

    ``field`` is the record field whose value could not be converted, or ``""`` when the model rejected the
    record as a whole (``reason`` is then the model server's message).
    """

    record_number: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class MappingOverride:
    """A pipeline's replacements for model.yaml: an entry for a tensor replaces model.yaml's for it.

    ``allow_nan``: accept NaN (and missing numeric values, read as NaN) in float inputs instead of rejecting
    the row.
    """

    inputs: tuple[TensorFields, ...] = ()
    outputs: tuple[TensorFields, ...] = ()
    allow_nan: bool = False


@dataclass(frozen=True, slots=True)
class InputPlan:
    """How one input tensor is built: ``fields`` in column order, each row reshaped to ``row_shape``."""

    tensor: str
    datatype: Datatype
    fields: tuple[str, ...]
    row_shape: tuple[int, ...]  # one row's part of the tensor (dims after the batch axis); at most one -1


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """How one output tensor becomes result columns: ``[N, k]`` -> ``columns[0..k-1]``; ``[N]`` -> one."""

    tensor: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EncodedInputs:
    """Input tensors for the ACCEPTED rows only; ``indices`` are their 0-based positions in the batch."""

    tensors: tuple[Tensor, ...]
    indices: np.ndarray
    rejections: tuple[tuple[int, Rejection], ...]  # (row index, rejection), in row order


def normalise(name: str) -> str:
    """The key record and model field names are compared by.

    >>> normalise(" MEAN-RADIUS ")
    'mean_radius'
    """
    return name.strip().casefold().replace("-", "_")


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """The resolved mapping of one model: what to read from records and what to write back."""

    model_name: str
    inputs: tuple[InputPlan, ...]
    outputs: tuple[OutputPlan, ...]
    carry: tuple[str, ...]
    allow_nan: bool
    max_rows: int  # most rows one call may hold: 0 = any number, 1 = the model takes one row at a time
    batch_axis: bool = True  # False: the model has no row axis; each call's tensors are one row's values

    @property
    def output_columns(self) -> tuple[str, ...]:
        return tuple(c for plan in self.outputs for c in plan.columns)

    @property
    def requested_outputs(self) -> list[str]:
        return [plan.tensor for plan in self.outputs]

    def rows_per_call(self, requested: int | None) -> int:
        """Rows per inference call: ``requested`` (default 1024), never above what the model accepts."""
        rows = requested if requested is not None else DEFAULT_ROWS_PER_CALL
        if rows < 1:
            raise MappingConfigError(f"max_batch_rows must be at least 1, got {rows}")
        return min(rows, self.max_rows) if self.max_rows else rows

    def call_inputs(self, tensors: Sequence[Tensor], start: int, stop: int) -> list[Tensor]:
        """The input tensors of one inference call over encoded rows [start, stop) (views, no copies)."""
        if self.batch_axis:
            return [Tensor(t.name, t.datatype, t.data[start:stop]) for t in tensors]
        if stop - start != 1:
            raise ValueError(
                f"model {self.model_name!r} has no batch axis: one row per call, got {stop - start}"
            )
        return [Tensor(t.name, t.datatype, t.data[start]) for t in tensors]

    def check_fields(self, model: str, record_fields: Sequence[str]) -> None:
        """Raise MappingConfigError naming the model, tensor and fields when a needed field is absent."""
        lookup = _FieldLookup(record_fields)
        available = ", ".join(record_fields) or "(none)"
        for plan in self.inputs:
            missing = [f for f in plan.fields if lookup.find(f) is None]
            if missing:
                raise MappingConfigError(
                    f"model {model!r} input {plan.tensor!r} needs field(s) {', '.join(missing)}, "
                    f"which the records do not have; record fields: {available}"
                )
        missing = [f for f in self.carry if lookup.find(f) is None]
        if missing:
            raise MappingConfigError(
                f"carried field(s) {', '.join(missing)} not in the records; record fields: {available}"
            )


class _FieldLookup:
    """Finds a record column for a model field name (normalised; dotted paths by their last segment)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._exact: dict[str, str] = {}
        tails: dict[str, list[str]] = {}
        for name in names:
            key = normalise(name)
            if key in self._exact and self._exact[key] != name:
                raise MappingConfigError(
                    f"record fields {self._exact[key]!r} and {name!r} are the same name once case and "
                    "'-'/'_' are ignored; rename one"
                )
            self._exact[key] = name
            tails.setdefault(key.rsplit(".", 1)[-1], []).append(name)
        self._tail = {k: v[0] for k, v in tails.items() if len(v) == 1}

    def find(self, field: str) -> str | None:
        key = normalise(field)
        return self._exact.get(key) or self._tail.get(key)


def find_field(columns: Mapping[str, Any], field: str) -> str | None:
    """The key of ``columns`` that model field ``field`` reads, matched as the module docstring says."""
    return _FieldLookup(list(columns)).find(field)


def resolve_mapping(
    metadata: ModelMetadata,
    config: ModelConfigInfo,
    override: MappingOverride | None,
    carry: Sequence[str],
) -> FieldMapping:
    """Combine the model's signature, its model.yaml fields and a pipeline override into a FieldMapping.

    Raises MappingConfigError when an input has no usable mapping, a field list does not fit the tensor's
    shape, an override names a tensor the model lacks, or result column names collide.
    """
    override = override or MappingOverride()
    batch_axis, max_rows = _row_axis(metadata, config)
    input_fields = _merge(metadata, metadata.inputs, config.input_fields, override.inputs, "input")
    output_fields = _merge(metadata, metadata.outputs, config.output_fields, override.outputs, "output")
    inputs = tuple(
        _input_plan(metadata.name, spec, input_fields.get(spec.name), batch_axis) for spec in metadata.inputs
    )
    # Outputs model.yaml (or the override) names are what the business sees; with none named, all of them.
    out_specs = [s for s in metadata.outputs if s.name in output_fields] or list(metadata.outputs)
    outputs = tuple(
        _output_plan(metadata.name, spec, output_fields.get(spec.name), batch_axis) for spec in out_specs
    )
    mapping = FieldMapping(
        model_name=metadata.name,
        inputs=inputs,
        outputs=outputs,
        carry=tuple(carry),
        allow_nan=override.allow_nan,
        max_rows=max_rows,
        batch_axis=batch_axis,
    )
    _check_collisions(mapping)
    return mapping


def _merge(
    metadata: ModelMetadata,
    specs: Sequence[TensorSpec],
    from_yaml: Sequence[TensorFields],
    from_override: Sequence[TensorFields],
    kind: str,
) -> dict[str, TensorFields]:
    known = {s.name for s in specs}
    merged: dict[str, TensorFields] = {}
    for source, entries in (("model.yaml", from_yaml), ("the pipeline mapping", from_override)):
        for entry in entries:
            if entry.tensor not in known:
                raise MappingConfigError(
                    f"{source} maps {kind} {entry.tensor!r}, which model {metadata.name!r} does not have; "
                    f"its {kind}s: {', '.join(sorted(known))}"
                )
            merged[entry.tensor] = entry
    return merged


def _input_plan(model: str, spec: TensorSpec, mapped: TensorFields | None, batch_axis: bool) -> InputPlan:
    datatype = by_name(spec.datatype)
    if datatype is None:
        raise MappingConfigError(f"model {model!r} input {spec.name!r} has unknown datatype {spec.datatype}")
    trailing = _row_shape(spec, batch_axis)
    if trailing.count(-1) > 1:
        raise MappingConfigError(
            f"model {model!r} input {spec.name!r} has shape {list(spec.shape)}: more than one dynamic "
            "dimension after the batch axis cannot be filled from record fields"
        )
    fields = mapped.fields if mapped is not None else _default_names(spec, batch_axis)
    if fields is None:
        raise MappingConfigError(
            f"model {model!r} input {spec.name!r} (shape {list(spec.shape)}) has no field mapping; "
            "name its fields in model.yaml or in the pipeline's mapping"
        )
    width = math.prod(trailing)
    if -1 not in trailing and width != len(fields):
        raise MappingConfigError(
            f"model {model!r} input {spec.name!r} has {width} value(s) per row (shape {list(spec.shape)}) "
            f"but is mapped to {len(fields)} field(s): {', '.join(fields)}"
        )
    return InputPlan(spec.name, datatype, tuple(fields), tuple(trailing))


def _output_plan(model: str, spec: TensorSpec, mapped: TensorFields | None, batch_axis: bool) -> OutputPlan:
    columns = mapped.fields if mapped is not None else _default_names(spec, batch_axis)
    if columns is None:
        raise MappingConfigError(
            f"model {model!r} output {spec.name!r} has shape {list(spec.shape)}, whose columns cannot be "
            "named without a mapping; name them in model.yaml or in the pipeline's mapping"
        )
    row_shape = _row_shape(spec, batch_axis)
    width = math.prod(row_shape)
    if -1 not in row_shape and width != len(columns):
        raise MappingConfigError(
            f"model {model!r} output {spec.name!r} has {width} value(s) per row (shape {list(spec.shape)}) "
            f"but is mapped to {len(columns)} field(s): {', '.join(columns)}"
        )
    return OutputPlan(spec.name, tuple(columns))


def _row_shape(spec: TensorSpec, batch_axis: bool) -> tuple[int, ...]:
    return tuple(spec.shape[1:] if batch_axis else spec.shape)


def _default_names(spec: TensorSpec, batch_axis: bool) -> tuple[str, ...] | None:
    """``x`` for [N] / [N, 1], ``x_0..x_{k-1}`` for a static [N, k] (or [N, ..] of k values); else None."""
    trailing = _row_shape(spec, batch_axis)
    if -1 in trailing:
        return None
    width = math.prod(trailing)
    return (spec.name,) if width == 1 else tuple(f"{spec.name}_{i}" for i in range(width))


def _row_axis(metadata: ModelMetadata, config: ModelConfigInfo) -> tuple[bool, int]:
    """(has a batch axis, most rows per call: 0 = no limit).

    Every input with a dynamic leading axis: rows go along it, up to the model's max_batch_size. Every
    input fully static (e.g. ``[3]`` or ``[1, 30]``): the model takes one record per call, whose values fill
    each tensor whole. Anything in between cannot be filled from records.
    """
    leading = {spec.shape[0] if spec.shape else 1 for spec in metadata.inputs}
    if leading == {-1}:
        limit = config.max_batch_size if config.batching is not None and config.max_batch_size > 0 else 0
        return True, limit
    if all(-1 not in spec.shape for spec in metadata.inputs):
        return False, 1
    shapes = ", ".join(f"{s.name} {list(s.shape)}" for s in metadata.inputs)
    raise MappingConfigError(
        f"model {metadata.name!r} has no row axis to put records on: its inputs ({shapes}) must all have a "
        "dynamic leading dimension (-1), or all be fully static (one record per call)"
    )


def _check_collisions(mapping: FieldMapping) -> None:
    seen: dict[str, str] = {}
    named = [(c, "carried field") for c in mapping.carry] + [
        (c, "output field") for c in mapping.output_columns
    ]
    for name, what in named:
        key = normalise(name)
        if key in _LINEAGE_NAMES:
            raise MappingConfigError(f"{what} {name!r} would overwrite the lineage column {key!r}")
        if key in seen:
            raise MappingConfigError(
                f"{what} {name!r} collides with {seen[key]} of the same name in model "
                f"{mapping.model_name!r} results"
            )
        seen[key] = f"{what} {name!r}"


def encode_inputs(
    mapping: FieldMapping, columns: Mapping[str, Any], record_numbers: np.ndarray
) -> EncodedInputs:
    """Build the input tensors for every row whose values all convert; reject the others.

    A row is rejected for the first of its fields (in mapping order) that is missing, not convertible to the
    tensor's datatype, out of its range, or NaN/infinite where ``allow_nan`` is off. A field absent from
    ``columns`` altogether rejects every row.
    """
    n = len(record_numbers)
    lookup = _FieldLookup(list(columns))
    bad = BadRows(n)
    built: list[tuple[InputPlan, list[np.ndarray]]] = []
    for plan in mapping.inputs:
        arrays = []
        for field in plan.fields:
            name = lookup.find(field)
            if name is None:
                bad.reject_all(field, "missing field")
                arrays.append(np.zeros(n, dtype=plan.datatype.numpy))
                continue
            arrays.append(convert_column(columns[name], plan.datatype, mapping.allow_nan, field, bad))
        built.append((plan, arrays))
    keep = bad.accepted()
    tensors = tuple(_stack(plan, arrays, keep) for plan, arrays in built)
    rejections = tuple((i, Rejection(int(record_numbers[i]), f, r)) for i, f, r in bad.rows())
    return EncodedInputs(tensors=tensors, indices=keep, rejections=rejections)


def _stack(plan: InputPlan, arrays: list[np.ndarray], keep: np.ndarray) -> Tensor:
    whole = len(keep) == len(arrays[0])
    if len(arrays) == 1:
        data = arrays[0] if whole else arrays[0][keep]
    else:
        data = np.column_stack(arrays if whole else [a[keep] for a in arrays])
    return Tensor(plan.tensor, plan.datatype.name, data.reshape(len(keep), *plan.row_shape))


def decode_outputs(mapping: FieldMapping, outputs: Sequence[Tensor], n_rows: int) -> dict[str, np.ndarray]:
    """Result columns from one response's output tensors (each ``[n_rows, ...]``), in mapping order.

    BYTES values become ``str`` when they are valid UTF-8. Raises RuntimeFailure when the response lacks a
    requested output or its row count or width does not match the request: the server broke its contract.
    """
    by_name = {t.name: t for t in outputs}
    result: dict[str, np.ndarray] = {}
    for plan in mapping.outputs:
        tensor = by_name.get(plan.tensor)
        if tensor is None:
            raise RuntimeFailure(f"model {mapping.model_name!r} returned no output {plan.tensor!r}")
        data = tensor.data
        rows_ok = not mapping.batch_axis or (data.ndim > 0 and data.shape[0] == n_rows)
        if not rows_ok or data.size != n_rows * len(plan.columns):
            raise RuntimeFailure(
                f"model {mapping.model_name!r} output {plan.tensor!r} has shape {list(data.shape)}; expected "
                f"{n_rows} row(s) of {len(plan.columns)} value(s)"
            )
        flat = data.reshape(n_rows, len(plan.columns))
        if tensor.datatype == "BYTES":
            flat = _decode_text(flat)
        for i, column in enumerate(plan.columns):
            result[column] = flat[:, i]
    return result


def _decode_text(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        try:
            out[index] = value.decode("utf-8") if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            out[index] = value
    return out
