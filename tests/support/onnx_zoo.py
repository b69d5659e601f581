"""Tiny ONNX models built with ``onnx.helper`` for gateway tests: one per protocol corner that matters.

``build_repository(root)`` writes a model repository (``<root>/<name>/<version>/model.onnx`` plus model.yaml
where a test needs one). Nothing is downloaded; every model builds in milliseconds.

* ``add_sub`` -- FP32 INPUT0, INPUT1 [-1, 4] -> OUTPUT0 = sum, OUTPUT1 = difference; batched, with a field
  mapping and preferred batch sizes in model.yaml (Triton's "simple" model, in ONNX).
* ``identity_bytes`` -- BYTES [-1, 1] -> the same strings.
* ``double_fp16`` -- FP16 [-1, 3] -> twice the input.
* ``not_bool`` -- BOOL [-1, 2] -> logical not.
* ``scalar`` -- FP32 0-d tensor -> three times it (unbatched: no batch axis).
* ``fixed`` -- FP32 [2, 3] -> row sums [2] (fixed shape, so served unbatched).
* ``slow``/``slow_queue`` -- INT64 ``n`` [-1], FP32 ``x`` [-1] -> ``y`` = x * 0 + max(n), looping max(n) times
  (about 2 microseconds per iteration), so a test can hold the model busy; one request runs at a time and
  ``slow_queue`` admits only one queued request.
* ``scratch`` -- FP32 [-1, 2] identity served unbatched (any row count), for load/unload and size tests.
* ``corrupt`` -- a version file that is not ONNX.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto as T
from onnx import helper as h

__all__ = ["CORRUPT_MODEL", "MODEL_NAMES", "SLOW_ITERATIONS_PER_SECOND", "build_repository"]

OPSET = 17
CORRUPT_MODEL = "corrupt"
# A rough rate on a 2-core machine; tests size their blocking requests from it with a wide margin.
SLOW_ITERATIONS_PER_SECOND = 400_000


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _io(name: str, elem: int, shape: list[int | str | None]) -> onnx.ValueInfoProto:
    return h.make_tensor_value_info(name, elem, shape)


def add_sub() -> onnx.ModelProto:
    return _model(
        h.make_graph(
            [
                h.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
                h.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
            ],
            "add_sub",
            [_io("INPUT0", T.FLOAT, ["batch", 4]), _io("INPUT1", T.FLOAT, ["batch", 4])],
            [_io("OUTPUT0", T.FLOAT, ["batch", 4]), _io("OUTPUT1", T.FLOAT, ["batch", 4])],
        )
    )


def _unary(name: str, op: str, elem: int, shape: list[int | str | None], **kw: object) -> onnx.ModelProto:
    inits = []
    inputs = ["X"]
    if "constant" in kw:
        inits.append(h.make_tensor("k", elem, [], [kw["constant"]]))
        inputs.append("k")
    return _model(
        h.make_graph(
            [h.make_node(op, inputs, ["Y"])], name, [_io("X", elem, shape)], [_io("Y", elem, shape)], inits
        )
    )


def fixed() -> onnx.ModelProto:
    return _model(
        h.make_graph(
            [h.make_node("ReduceSum", ["X", "axes"], ["Y"], keepdims=0)],
            "fixed",
            [_io("X", T.FLOAT, [2, 3])],
            [_io("Y", T.FLOAT, [2])],
            [h.make_tensor("axes", T.INT64, [1], [1])],
        )
    )


def slow() -> onnx.ModelProto:
    body = h.make_graph(
        [h.make_node("Add", ["v_in", "one"], ["v_out"]), h.make_node("Identity", ["cond_in"], ["cond_out"])],
        "count",
        [_io("i", T.INT64, []), _io("cond_in", T.BOOL, []), _io("v_in", T.FLOAT, [1])],
        [_io("cond_out", T.BOOL, []), _io("v_out", T.FLOAT, [1])],
        [h.make_tensor("one", T.FLOAT, [1], [1.0])],
    )
    return _model(
        h.make_graph(
            [
                h.make_node("ReduceMax", ["n"], ["m"], keepdims=0),
                h.make_node("Loop", ["m", "true", "zero"], ["count"], body=body),
                h.make_node("Mul", ["x", "zero"], ["xz"]),
                h.make_node("Add", ["xz", "count"], ["y"]),
            ],
            "slow",
            [_io("n", T.INT64, ["batch"]), _io("x", T.FLOAT, ["batch"])],
            [_io("y", T.FLOAT, ["batch"])],
            [h.make_tensor("true", T.BOOL, [], [True]), h.make_tensor("zero", T.FLOAT, [1], [0.0])],
        )
    )


ADD_SUB_YAML = """\
description: Element-wise sum and difference of two 4-vectors
inputs:
  INPUT0: {fields: [a0, a1, a2, a3]}
outputs:
  OUTPUT0: {fields: [s0, s1, s2, s3]}
batching: {max_batch_size: 64, max_queue_delay_us: 2000, preferred_batch_sizes: [16, 32]}
"""
SLOW_YAML = "batching: {max_batch_size: 1, max_queue_delay_us: 0}\n"
SLOW_QUEUE_YAML = "batching: {max_batch_size: 1, max_queue_delay_us: 0, max_queue_size: 1}\n"


def _models() -> dict[str, tuple[onnx.ModelProto, str]]:
    return {
        "add_sub": (add_sub(), ADD_SUB_YAML),
        "identity_bytes": (_unary("identity_bytes", "Identity", T.STRING, ["batch", 1]), ""),
        "double_fp16": (_unary("double_fp16", "Mul", T.FLOAT16, ["batch", 3], constant=2.0), ""),
        "not_bool": (_unary("not_bool", "Not", T.BOOL, ["batch", 2]), ""),
        "scalar": (_unary("scalar", "Mul", T.FLOAT, [], constant=3.0), ""),
        "fixed": (fixed(), ""),
        "slow": (slow(), SLOW_YAML),
        "slow_queue": (slow(), SLOW_QUEUE_YAML),
        "scratch": (_unary("scratch", "Identity", T.FLOAT, ["batch", 2]), "batching: false\n"),
    }


MODEL_NAMES = (*_models(), CORRUPT_MODEL)


def build_repository(root: Path) -> Path:
    """Write every model of the zoo under ``root`` (created if needed); returns ``root``."""
    for name, (model, yaml_text) in _models().items():
        folder = root / name / "1"
        folder.mkdir(parents=True, exist_ok=True)
        onnx.save(model, folder / "model.onnx")
        if yaml_text:
            (root / name / "model.yaml").write_text(yaml_text, encoding="utf-8")
    broken = root / CORRUPT_MODEL / "1"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "model.onnx").write_bytes(b"this is not an ONNX model\n")
    return root
