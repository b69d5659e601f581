"""Open Inference Protocol datatypes and their numpy, ONNX and Triton model-config names.

One table, so every conversion (wire <-> numpy, ONNX graph -> metadata, ModelConfig TYPE_*) agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DATATYPES", "Datatype", "by_name", "by_numpy", "by_onnx"]


@dataclass(frozen=True, slots=True)
class Datatype:
    name: str  # protocol name, e.g. "FP32"
    numpy: np.dtype  # object dtype for BYTES (elements are ``bytes``)
    onnx: str  # onnxruntime's type string, e.g. "tensor(float)"
    triton: str  # ModelConfig DataType enum name, e.g. "TYPE_FP32"

    @property
    def itemsize(self) -> int:
        """Bytes per element in raw contents; 0 for BYTES, whose elements are length-prefixed."""
        return 0 if self.name == "BYTES" else self.numpy.itemsize


DATATYPES: tuple[Datatype, ...] = (
    Datatype("BOOL", np.dtype(np.bool_), "tensor(bool)", "TYPE_BOOL"),
    Datatype("UINT8", np.dtype(np.uint8), "tensor(uint8)", "TYPE_UINT8"),
    Datatype("UINT16", np.dtype(np.uint16), "tensor(uint16)", "TYPE_UINT16"),
    Datatype("UINT32", np.dtype(np.uint32), "tensor(uint32)", "TYPE_UINT32"),
    Datatype("UINT64", np.dtype(np.uint64), "tensor(uint64)", "TYPE_UINT64"),
    Datatype("INT8", np.dtype(np.int8), "tensor(int8)", "TYPE_INT8"),
    Datatype("INT16", np.dtype(np.int16), "tensor(int16)", "TYPE_INT16"),
    Datatype("INT32", np.dtype(np.int32), "tensor(int32)", "TYPE_INT32"),
    Datatype("INT64", np.dtype(np.int64), "tensor(int64)", "TYPE_INT64"),
    Datatype("FP16", np.dtype(np.float16), "tensor(float16)", "TYPE_FP16"),
    Datatype("FP32", np.dtype(np.float32), "tensor(float)", "TYPE_FP32"),
    Datatype("FP64", np.dtype(np.float64), "tensor(double)", "TYPE_FP64"),
    Datatype("BYTES", np.dtype(object), "tensor(string)", "TYPE_STRING"),
)

_BY_NAME = {d.name: d for d in DATATYPES}
_BY_ONNX = {d.onnx: d for d in DATATYPES}
_BY_NUMPY = {d.numpy: d for d in DATATYPES if d.name != "BYTES"}


def by_name(name: str) -> Datatype | None:
    return _BY_NAME.get(name)


def by_onnx(onnx_type: str) -> Datatype | None:
    return _BY_ONNX.get(onnx_type)


def by_numpy(dtype: np.dtype) -> Datatype | None:
    """Datatype for a numpy dtype; unicode, bytes and object arrays map to BYTES."""
    if dtype.kind in ("O", "S", "U"):
        return _BY_NAME["BYTES"]
    return _BY_NUMPY.get(np.dtype(dtype))
