"""Pure conversions between Open Inference Protocol messages and ``gateway.types`` for inference calls.

Both directions live here, so the servicer (decode requests, encode responses) and the remote inference
client (encode requests, decode responses) share one reading of the wire format:

* Inputs arrive raw (``raw_input_contents``, one entry per input, in order) or typed (``contents``); a request
  uses one way for all its inputs. FP16 has no typed field and travels raw only.
* Outputs always leave in ``raw_output_contents``, in the order of ``outputs``: tritonclient decodes nothing
  else.
* Raw encoding is little-endian, row-major; BOOL is one byte per element; each BYTES element carries a
  4-byte little-endian length prefix. A 0-d tensor has shape ``[]`` and one element.

Byte-count, element-count and datatype mistakes raise ``InvalidInput`` naming the input, what was expected
and what came. Checking inputs against the model's signature is the core's job, not this module's.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from gateway.datatypes import DATATYPES, Datatype, by_name
from gateway.errors import InvalidInput
from gateway.types import InferRequest, InferResponse, Tensor
from protos import pb

__all__ = [
    "MODEL_SHA256_PARAMETER",
    "array_from_contents",
    "array_from_raw",
    "array_to_raw",
    "parameters_from_pb",
    "parameters_to_pb",
    "request_from_pb",
    "request_to_pb",
    "response_from_pb",
    "response_to_pb",
]

_LENGTH = struct.Struct("<I")

# Response parameter carrying the SHA-256 of the model file that ran, so remote callers keep lineage.
MODEL_SHA256_PARAMETER = "model_sha256"

# The typed ``contents`` field that carries each datatype; FP16 (and BF16) have none and travel raw only.
_CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_ALL_CONTENTS_FIELDS = tuple(dict.fromkeys(_CONTENTS_FIELD.values()))
# Wire dtype of each typed field, before narrowing to the tensor's own dtype.
_FIELD_DTYPE = {
    "int_contents": np.dtype(np.int32),
    "uint_contents": np.dtype(np.uint32),
}
# Per-request features this gateway does not offer; a silent ignore would return wrong results.
_UNSUPPORTED_PARAMETERS = {
    "shared_memory_region": "shared memory is not supported; send tensor data in the request",
    "classification": "classification outputs are not supported; request the raw output instead",
}


def _datatype(where: str, datatype: str) -> Datatype:
    found = by_name(datatype)
    if found is None:
        known = ", ".join(d.name for d in DATATYPES)
        raise InvalidInput(f"{where}: unsupported datatype '{datatype}'; expected one of {known}")
    return found


def _element_count(where: str, shape: Sequence[int]) -> int:
    count = _count(shape)
    if count < 0:
        raise InvalidInput(f"{where}: shape {list(shape)} has a negative dimension")
    return count


def _count(shape: Sequence[int]) -> int:
    """Elements of ``shape``, or -1 when a dimension is negative."""
    for dim in shape:
        if dim < 0:
            return -1
    return math.prod(shape)


# Raw contents are little-endian whatever the host's byte order.
_WIRE_DTYPE = {d.name: d.numpy.newbyteorder("<") for d in DATATYPES if d.name != "BYTES"}


def _decode_bytes_elements(where: str, raw: bytes, count: int) -> list[bytes]:
    """Split length-prefixed BYTES elements; the buffer must hold exactly ``count`` of them."""
    items: list[bytes] = []
    offset, size = 0, len(raw)
    while offset < size:
        if offset + 4 > size:
            raise InvalidInput(
                f"{where}: BYTES element {len(items)} needs a 4-byte length prefix at byte {offset}, "
                f"got {size - offset} bytes"
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + length > size:
            raise InvalidInput(
                f"{where}: BYTES element {len(items)} declares {length} bytes at byte {offset}, "
                f"got {size - offset}"
            )
        items.append(raw[offset : offset + length])
        offset += length
    if len(items) != count:
        raise InvalidInput(f"{where}: expected {count} BYTES elements, got {len(items)}")
    return items


def _object_array(items: Sequence[bytes], shape: Sequence[int]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array.reshape(shape)


def array_from_raw(
    name: str, datatype: str, shape: Sequence[int], raw: bytes, kind: str = "input"
) -> np.ndarray:
    """Decode one tensor's raw bytes. Zero-copy for fixed-size datatypes (a read-only view of ``raw``).

    ``kind`` ("input" or "output") only words the error messages. This is the hot path of every call: pass
    ``shape`` as a list (numpy reshapes a protobuf repeated field several times slower).
    """
    wire = _WIRE_DTYPE.get(datatype)
    if wire is None:
        return _array_from_raw_bytes(f"{kind} '{name}'", datatype, shape, raw)
    count = _count(shape)  # the messages are formatted only on failure: this runs for every input
    if count < 0:
        _element_count(f"{kind} '{name}'", shape)
    if len(raw) != count * wire.itemsize:
        raise InvalidInput(
            f"{kind} '{name}': expected {count * wire.itemsize} bytes for {datatype} shape {list(shape)}, "
            f"got {len(raw)}"
        )
    if datatype == "BOOL":
        octets = np.frombuffer(raw, dtype=np.uint8)
        # Any non-zero byte means true; viewing bytes > 1 as numpy bool would make malformed booleans.
        flat = octets.view(np.bool_) if not (octets > 1).any() else octets != 0
        return flat.reshape(shape)
    return np.frombuffer(raw, dtype=wire).reshape(shape)


def _array_from_raw_bytes(where: str, datatype: str, shape: Sequence[int], raw: bytes) -> np.ndarray:
    _datatype(where, datatype)  # BYTES, or an unknown name: raises
    count = _element_count(where, shape)
    return _object_array(_decode_bytes_elements(where, raw, count), shape)


def array_from_contents(
    name: str, datatype: str, shape: Sequence[int], contents: Any, kind: str = "input"
) -> np.ndarray:
    """Decode one tensor's typed ``InferTensorContents``; narrow integer types are range-checked."""
    where = f"{kind} '{name}'"
    dt = _datatype(where, datatype)
    count = _element_count(where, shape)
    field = _CONTENTS_FIELD.get(dt.name)
    if field is None:
        raise InvalidInput(f"{where}: {dt.name} data has no typed contents field; send it raw")
    values = getattr(contents, field)
    if len(values) != count:
        others = [f for f in _ALL_CONTENTS_FIELDS if f != field and len(getattr(contents, f))]
        got = f"contents.{others[0]}" if others and not values else f"{len(values)} elements"
        raise InvalidInput(
            f"{where}: expected {count} elements in contents.{field} for {dt.name} "
            f"shape {list(shape)}, got {got}"
        )
    if dt.name == "BYTES":
        return _object_array([bytes(v) for v in values], shape)
    wide = np.fromiter(values, dtype=_FIELD_DTYPE.get(field, dt.numpy), count=count)
    if wide.dtype != dt.numpy and count:
        info = np.iinfo(dt.numpy)
        if wide.min() < info.min or wide.max() > info.max:
            raise InvalidInput(
                f"{where}: values must lie in [{info.min}, {info.max}] for {dt.name}, "
                f"got [{wide.min()}, {wide.max()}]"
            )
    return wide.astype(dt.numpy, copy=False).reshape(shape)


def array_to_raw(data: np.ndarray, datatype: str) -> bytes:
    """Encode a tensor as raw contents: little-endian fixed-size elements, or length-prefixed BYTES."""
    wire = _WIRE_DTYPE.get(datatype)
    if wire is not None:
        return np.asarray(data, dtype=wire).tobytes()
    if datatype != "BYTES":
        raise ValueError(f"unknown datatype {datatype!r}")
    parts: list[bytes] = []
    for item in np.asarray(data, dtype=object).reshape(-1):
        value = item if isinstance(item, bytes) else str(item).encode("utf-8")
        parts.append(_LENGTH.pack(len(value)))
        parts.append(value)
    return b"".join(parts)


def parameters_from_pb(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``map<string, InferParameter>`` as plain Python values (bool, int, float or str)."""
    values: dict[str, Any] = {}
    for key, parameter in parameters.items():
        choice = parameter.WhichOneof("parameter_choice")
        if choice is not None:
            values[key] = getattr(parameter, choice)
    return values


def parameters_to_pb(values: Mapping[str, Any], target: Any) -> None:
    """Fill a ``map<string, InferParameter>`` from plain values; other types are sent as strings."""
    for key, value in values.items():
        parameter = target[key]
        if isinstance(value, bool):
            parameter.bool_param = value
        elif isinstance(value, int):
            parameter.int64_param = value
        elif isinstance(value, float):
            parameter.double_param = value
        else:
            parameter.string_param = str(value)


def _reject_unsupported(where: str, parameters: Iterable[str]) -> None:
    for key in parameters:
        reason = _UNSUPPORTED_PARAMETERS.get(key)
        if reason is not None:
            raise InvalidInput(f"{where}: parameter '{key}': {reason}")


def _decode_inputs(msg: pb.ModelInferRequest) -> list[Tensor]:
    specs, raw = msg.inputs, msg.raw_input_contents
    if raw and len(raw) != len(specs):
        raise InvalidInput(f"raw_input_contents: expected one entry per input ({len(specs)}), got {len(raw)}")
    tensors: list[Tensor] = []
    for index, spec in enumerate(specs):
        name, datatype, shape = spec.name, spec.datatype, list(spec.shape)
        if spec.parameters:
            _reject_unsupported(f"input '{name}'", spec.parameters)
        if raw:
            if spec.HasField("contents"):
                raise InvalidInput(f"input '{name}': data given both raw and in contents; send one")
            data = array_from_raw(name, datatype, shape, raw[index])
        else:
            data = array_from_contents(name, datatype, shape, spec.contents)
        tensors.append(Tensor(name, datatype, data))
    return tensors


def _earliest(deadline: float | None, timeout_us: Any, now: float) -> float | None:
    """Combine the transport deadline with the protocol's ``timeout`` parameter (microseconds)."""
    if not isinstance(timeout_us, int) or isinstance(timeout_us, bool) or timeout_us <= 0:
        return deadline
    by_timeout = now + timeout_us / 1e6
    return by_timeout if deadline is None else min(deadline, by_timeout)


def request_from_pb(
    msg: pb.ModelInferRequest, deadline: float | None = None, now: float = 0.0
) -> InferRequest:
    """Decode a ModelInferRequest. ``deadline`` (monotonic seconds) comes from the transport; a ``timeout``
    request parameter (microseconds after ``now``, monotonic) can only make it earlier.
    """
    inputs = _decode_inputs(msg)
    if len(inputs) > 1 and len({t.name for t in inputs}) != len(inputs):
        raise InvalidInput(f"inputs: each input may appear once, got {[t.name for t in inputs]}")
    outputs = None
    if msg.outputs:
        for output in msg.outputs:
            if output.parameters:
                _reject_unsupported(f"requested output '{output.name}'", output.parameters)
        outputs = [output.name for output in msg.outputs]
    parameters = parameters_from_pb(msg.parameters) if msg.parameters else {}
    return InferRequest(
        model_name=msg.model_name,
        model_version=msg.model_version,
        inputs=inputs,
        id=msg.id,
        outputs=outputs,
        parameters=parameters,
        deadline=_earliest(deadline, parameters.get("timeout"), now) if parameters else deadline,
    )


def response_to_pb(response: InferResponse) -> pb.ModelInferResponse:
    """Encode an InferResponse; outputs go in ``raw_output_contents`` in the order of ``outputs``."""
    msg = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version, id=response.id
    )
    # add/append on the message's own fields: about a third cheaper than building lists for the constructor
    specs, contents = msg.outputs, msg.raw_output_contents
    for tensor in response.outputs:
        specs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.data.shape)
        contents.append(array_to_raw(tensor.data, tensor.datatype))
    if response.parameters:
        parameters_to_pb(response.parameters, msg.parameters)
    if response.model_sha256:
        msg.parameters[MODEL_SHA256_PARAMETER].string_param = response.model_sha256
    return msg


def request_to_pb(request: InferRequest) -> pb.ModelInferRequest:
    """Encode an InferRequest with every input raw (the fast path on both ends)."""
    msg = pb.ModelInferRequest(
        model_name=request.model_name,
        model_version=request.model_version,
        id=request.id,
        inputs=[
            pb.ModelInferRequest.InferInputTensor(name=t.name, datatype=t.datatype, shape=t.data.shape)
            for t in request.inputs
        ],
        outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name=n) for n in request.outputs or ()],
        raw_input_contents=[array_to_raw(t.data, t.datatype) for t in request.inputs],
    )
    parameters_to_pb(request.parameters, msg.parameters)
    return msg


def response_from_pb(msg: pb.ModelInferResponse) -> InferResponse:
    """Decode a ModelInferResponse whose outputs are raw (as this gateway and Triton send them)."""
    raw = msg.raw_output_contents
    outputs = []
    for index, spec in enumerate(msg.outputs):
        if index < len(raw):
            data = array_from_raw(spec.name, spec.datatype, spec.shape, raw[index], "output")
        else:
            data = array_from_contents(spec.name, spec.datatype, spec.shape, spec.contents, "output")
        outputs.append(Tensor(spec.name, spec.datatype, data))
    parameters = parameters_from_pb(msg.parameters)
    return InferResponse(
        model_name=msg.model_name,
        model_version=msg.model_version,
        outputs=outputs,
        id=msg.id,
        model_sha256=str(parameters.pop(MODEL_SHA256_PARAMETER, "")),
        parameters=parameters,
    )
