"""Checking a request against a model version's signature, before it is queued.

Every rejection is an ``InvalidInput`` whose message names the input (or output), what the model expects and
what came, e.g. ``input 'features': expected shape [-1, 30], got [4, 29]``. The checks are precomputed per
model version so the per-request cost is a few dict lookups and tuple compares.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from gateway import datatypes
from gateway.errors import InvalidInput
from gateway.runtime import to_ort_strings
from gateway.types import InferRequest, TensorSpec

__all__ = ["RequestValidator", "ValidRequest", "format_shape"]

# (feeds for onnxruntime, batch rows, batching key or None, requested output names or None for all)
ValidRequest = tuple[dict[str, np.ndarray], int, Hashable | None, list[str] | None]


def format_shape(shape: tuple[int, ...]) -> str:
    """``[-1, 30]``: the protocol's way of writing a shape (``-1`` dynamic)."""
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _names(specs: tuple[TensorSpec, ...]) -> str:
    return ", ".join(f"'{s.name}'" for s in specs) or "none"


class _InputCheck:
    __slots__ = ("dtype", "fixed", "is_bytes", "rank", "shape", "spec", "static")

    def __init__(self, spec: TensorSpec) -> None:
        dtype = datatypes.by_name(spec.datatype)
        assert dtype is not None, spec.datatype  # specs come from the same table
        self.spec = spec
        self.dtype = dtype.numpy
        self.is_bytes = spec.datatype == "BYTES"
        self.shape = spec.shape
        self.rank = len(spec.shape)
        self.fixed = tuple((axis, d) for axis, d in enumerate(spec.shape) if d >= 0)
        self.static = len(self.fixed) == self.rank

    def shape_ok(self, shape: tuple[int, ...]) -> bool:
        if self.static:
            return shape == self.shape
        if len(shape) != self.rank:
            return False
        for axis, want in self.fixed:  # usually one: the feature axis after a dynamic batch axis
            if shape[axis] != want:
                return False
        return True


class RequestValidator:
    """Validates requests for one model version. ``batched``: compute the batch rows and merge key."""

    def __init__(
        self, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...], batched: bool
    ) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.batched = batched
        self._checks = {spec.name: _InputCheck(spec) for spec in inputs}
        self._order = [spec.name for spec in inputs]
        self._output_types = {spec.name: spec.datatype for spec in outputs}

    @property
    def output_datatypes(self) -> dict[str, str]:
        """Output name -> protocol datatype (do not change it)."""
        return self._output_types

    def validate(self, request: InferRequest) -> ValidRequest:
        """Returns what the scheduler needs. Raises InvalidInput naming the input and the mismatch."""
        feeds: dict[str, np.ndarray] = {}
        for tensor in request.inputs:
            check = self._checks.get(tensor.name)
            if check is None:
                raise InvalidInput(
                    f"unknown input '{tensor.name}': the model's inputs are {_names(self.inputs)}"
                )
            if tensor.name in feeds:
                raise InvalidInput(f"input '{tensor.name}' is given more than once")
            feeds[tensor.name] = self._check_tensor(check, tensor.datatype, tensor.data)
        if len(feeds) != len(self._checks):
            missing = [self._checks[n].spec for n in self._order if n not in feeds]
            spec = missing[0]
            raise InvalidInput(
                f"missing input '{spec.name}' (expected {spec.datatype} {format_shape(spec.shape)}); "
                f"the model's inputs are {_names(self.inputs)}"
            )
        rows, key = self._batching(feeds) if self.batched else (1, None)
        return feeds, rows, key, self._outputs(request.outputs) if request.outputs else None

    def _check_tensor(self, check: _InputCheck, datatype: str, data: object) -> np.ndarray:
        spec = check.spec
        if datatype != spec.datatype:
            raise InvalidInput(f"input '{spec.name}': expected datatype {spec.datatype}, got {datatype}")
        if not isinstance(data, np.ndarray):
            raise InvalidInput(f"input '{spec.name}': expected a numpy array, got {type(data).__name__}")
        if check.is_bytes:
            if data.dtype.kind not in ("O", "S", "U"):
                raise InvalidInput(f"input '{spec.name}': BYTES tensor holds {data.dtype} data")
        elif data.dtype != check.dtype:
            raise InvalidInput(
                f"input '{spec.name}': {spec.datatype} tensor must hold {check.dtype} data, got {data.dtype}"
            )
        if not check.shape_ok(data.shape):
            raise InvalidInput(
                f"input '{spec.name}': expected shape {format_shape(spec.shape)}, "
                f"got {format_shape(data.shape)}"
            )
        if check.is_bytes:
            try:
                return to_ort_strings(data)
            except (UnicodeDecodeError, TypeError) as exc:
                raise InvalidInput(f"input '{spec.name}': BYTES elements must be UTF-8 text: {exc}") from exc
        return data

    def _batching(self, feeds: dict[str, np.ndarray]) -> tuple[int, Hashable | None]:
        first = feeds[self._order[0]].shape
        rows = first[0]
        if len(self._order) == 1:
            return rows, first[1:]
        key = []
        for name in self._order:
            shape = feeds[name].shape
            if shape[0] != rows:
                return rows, None  # inputs disagree on the batch axis: run alone, never merged
            key.append(shape[1:])
        return rows, tuple(key)

    def _outputs(self, requested: list[str]) -> list[str]:
        for name in requested:
            if name not in self._output_types:
                raise InvalidInput(f"unknown output '{name}': the model's outputs are {_names(self.outputs)}")
        if len(set(requested)) != len(requested):
            raise InvalidInput("an output is requested more than once")
        return list(requested)
