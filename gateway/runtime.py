"""The onnxruntime boundary: the only module that imports onnxruntime.

It turns a model file into an ``OnnxSession`` with explicit providers and thread counts, reads the I/O
signature as protocol ``TensorSpec`` objects, warms the session up, converts BYTES tensors to and from what
onnxruntime wants for ``tensor(string)``, and translates every onnxruntime exception into the gateway's error
taxonomy (``raise Ours(...) from exc``) with a message that never carries a traceback.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from gateway import datatypes
from gateway.errors import InvalidInput, ModelLoadFailed, RuntimeFailure
from gateway.types import TensorSpec

__all__ = [
    "OnnxSession",
    "SessionConfig",
    "available_providers",
    "choose_providers",
    "from_ort_strings",
    "to_ort_strings",
]

log = logging.getLogger(__name__)

_OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
_CPU = "CPUExecutionProvider"
# onnxruntime prefixes messages with "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : "; callers need the rest.
_ORT_PREFIX = "[ONNXRuntimeError]"
_LOAD_PREFIX = re.compile(r"^Load model from .*? failed:\s*")


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """How one session is built: its share of the thread budget, optimisation level and providers."""

    intra_op_threads: int = 1
    inter_op_threads: int = 1
    graph_optimization_level: str = "all"
    providers: tuple[str, ...] = (_CPU,)
    allow_spinning: bool = False


def available_providers() -> list[str]:
    return list(ort.get_available_providers())


def choose_providers(requested: Sequence[str]) -> tuple[str, ...]:
    """The requested providers this onnxruntime build has, in order, always ending with the CPU provider.

    A provider that is asked for but missing (CUDA on a CPU-only build) is skipped with a warning, so the
    same settings work on machines with and without an accelerator.
    """
    have = set(available_providers())
    chosen = []
    for name in requested:
        if name in have:
            chosen.append(name)
        else:
            log.warning("execution provider %s is not available in this onnxruntime; skipped", name)
    if _CPU not in chosen:
        chosen.append(_CPU)
    return tuple(chosen)


def _clean(exc: BaseException) -> str:
    """onnxruntime's message without its code prefix, on one line."""
    text = " ".join(str(exc).split())
    if text.startswith(_ORT_PREFIX):
        parts = text.split(" : ", 3)
        if len(parts) == 4:
            return parts[3]
    return text


def to_ort_strings(data: np.ndarray) -> np.ndarray:
    """A BYTES tensor (``bytes`` or ``str`` elements) as the ``str`` object array onnxruntime wants.

    onnxruntime would turn a ``bytes`` element into its ``repr`` text, so bytes are decoded as UTF-8 here.
    Raises UnicodeDecodeError for bytes that are not UTF-8, TypeError for elements that are neither.
    """
    flat = data.reshape(-1)
    out = np.empty(flat.shape[0], dtype=object)
    for i, item in enumerate(flat):
        if isinstance(item, bytes):
            out[i] = item.decode("utf-8")
        elif isinstance(item, str):
            out[i] = item
        elif isinstance(item, np.bytes_ | bytearray | memoryview):
            out[i] = bytes(item).decode("utf-8")
        else:
            raise TypeError(f"element {i} is {type(item).__name__}, not bytes")
    return out.reshape(data.shape)


def from_ort_strings(data: np.ndarray) -> np.ndarray:
    """onnxruntime's ``tensor(string)`` output (``str`` elements) as a BYTES tensor of UTF-8 ``bytes``."""
    flat = data.reshape(-1)
    out = np.empty(flat.shape[0], dtype=object)
    for i, item in enumerate(flat):
        out[i] = item.encode("utf-8") if isinstance(item, str) else bytes(item)
    return out.reshape(data.shape)


def _spec(arg: Any, role: str) -> TensorSpec:
    dtype = datatypes.by_onnx(arg.type)
    if dtype is None:
        raise ValueError(f"{role} '{arg.name}' has type {arg.type}, which the protocol cannot carry")
    # Symbolic ("batch") and unknown (None) dimensions are both dynamic: -1 in metadata.
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or ()))
    return TensorSpec(arg.name, dtype.name, shape)


def _options(config: SessionConfig) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = config.intra_op_threads
    opts.inter_op_num_threads = config.inter_op_threads
    opts.graph_optimization_level = _OPT_LEVELS[config.graph_optimization_level]
    spin = "1" if config.allow_spinning else "0"
    # Spinning workers burn cores while idle; with several models sharing a budget they steal each other's.
    opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
    opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
    opts.log_severity_level = 3  # errors only: optimizer notices are not operator news
    return opts


def _numpy_dtype(name: str) -> np.dtype:
    dtype = datatypes.by_name(name)
    assert dtype is not None, name  # specs are built from the same table
    return dtype.numpy


def _warmup_dim(dim: int, axis: int, batch_size: int) -> int:
    if dim >= 0:
        return dim
    return batch_size if axis == 0 else 1


class OnnxSession:
    """One loaded model file. ``run`` is thread-safe and releases the GIL while onnxruntime computes.

    ``inputs``/``outputs`` are the graph's signature in graph order; dynamic dimensions are -1.
    """

    def __init__(self, session: ort.InferenceSession, label: str) -> None:
        self._session: ort.InferenceSession | None = session
        self.label = label
        try:
            self.inputs = tuple(_spec(a, "input") for a in session.get_inputs())
            self.outputs = tuple(_spec(a, "output") for a in session.get_outputs())
        except ValueError as exc:
            raise ModelLoadFailed(f"model {label} cannot be served: {exc}") from exc
        self.output_names = [o.name for o in self.outputs]
        self._has_string_outputs = any(o.datatype == "BYTES" for o in self.outputs)

    @classmethod
    def load(cls, path: Path, config: SessionConfig, label: str) -> OnnxSession:
        """Load ``path``. ``label`` (e.g. ``"name/3"``) replaces the file path in messages.

        Raises ModelLoadFailed with onnxruntime's reason (corrupt file, unsupported op, unsupported type).
        """
        try:
            session = ort.InferenceSession(
                str(path), sess_options=_options(config), providers=list(choose_providers(config.providers))
            )
        except Exception as exc:  # onnxruntime's load errors share no base class below Exception
            # "Load model from /abs/path failed:" says nothing the label does not, and leaks the path.
            reason = _LOAD_PREFIX.sub("", _clean(exc)).replace(str(path), f"{label}/model.onnx")
            raise ModelLoadFailed(f"model {label} failed to load: {reason}") from exc
        return cls(session, label)

    def run(self, feeds: dict[str, np.ndarray], output_names: list[str] | None = None) -> list[np.ndarray]:
        """Run once. ``feeds`` hold arrays onnxruntime accepts (BYTES already through ``to_ort_strings``).

        Returns the requested outputs (all, in graph order, when ``output_names`` is None); BYTES outputs
        come back as ``bytes`` object arrays. Raises InvalidInput for inputs onnxruntime rejects,
        RuntimeFailure for failures while computing.
        """
        session = self._session
        if session is None:
            raise RuntimeFailure(f"model {self.label} was closed")
        try:
            results: list[np.ndarray] = session.run(output_names, feeds)
        except ort_state.InvalidArgument as exc:
            raise InvalidInput(f"model {self.label} rejected the input: {_clean(exc)}") from exc
        except Exception as exc:  # any onnxruntime failure: reported, never a traceback to the caller
            raise RuntimeFailure(f"model {self.label} failed while running: {_clean(exc)}") from exc
        if self._has_string_outputs:
            for i, result in enumerate(results):
                if result.dtype == object:  # only tensor(string) comes back as objects
                    results[i] = from_ort_strings(result)
        return results

    def warm_up(self, runs: int = 1, batch_size: int = 1) -> float:
        """Run ``runs`` times on zeros (empty strings for BYTES); returns the seconds spent.

        Raises ModelLoadFailed when the model rejects such input, so a model that cannot run is never
        reported ready.
        """
        feeds = {}
        for spec in self.inputs:
            shape = tuple(_warmup_dim(d, axis, batch_size) for axis, d in enumerate(spec.shape))
            if spec.datatype == "BYTES":
                feeds[spec.name] = np.full(shape, "", dtype=object)
            else:
                feeds[spec.name] = np.zeros(shape, dtype=_numpy_dtype(spec.datatype))
        start = time.perf_counter()
        try:
            for _ in range(runs):
                self.run(feeds)
        except (InvalidInput, RuntimeFailure) as exc:
            raise ModelLoadFailed(f"model {self.label} failed its warm-up run: {exc}") from exc
        return time.perf_counter() - start

    def close(self) -> None:
        """Drop the session; its memory and threads go once no run still holds it."""
        self._session = None
