"""Test kit for the gateway core: tiny ONNX models built with ``onnx.helper``, and a running core.

``write_model`` puts ``<root>/<name>/<version>/model.onnx`` in a temporary repository. Tests drive the async
core with ``asyncio.run`` (``run``) so they need no event-loop plugin. The module name is unique because
pytest imports test helpers by basename.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import onnx
from onnx import TensorProto, helper

from gateway.config import ServerSettings
from gateway.core import InferenceCore

T = TypeVar("T")
Dim = int | str


def _model(nodes: list[onnx.NodeProto], inputs: list[Any], outputs: list[Any], inits: Any = ()) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime this project supports
    return model.SerializeToString()


def _io(name: str, elem: int, shape: list[Dim]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def write_model(root: Path, name: str, version: int, data: bytes, model_yaml: str | None = None) -> Path:
    path = root / name / str(version) / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if model_yaml is not None:
        (root / name / "model.yaml").write_text(model_yaml, encoding="utf-8")
    return path


def add_model(offset: float = 0.0) -> bytes:
    """a, b: FP32 [N, 4] -> sum = a + b + offset, diff = a - b (dynamic batch)."""
    c = helper.make_tensor("c", TensorProto.FLOAT, [], [offset])
    nodes = [
        helper.make_node("Add", ["a", "b"], ["s0"]),
        helper.make_node("Add", ["s0", "c"], ["sum"]),
        helper.make_node("Sub", ["a", "b"], ["diff"]),
    ]
    ins = [_io("a", TensorProto.FLOAT, ["batch", 4]), _io("b", TensorProto.FLOAT, ["batch", 4])]
    outs = [_io("sum", TensorProto.FLOAT, ["batch", 4]), _io("diff", TensorProto.FLOAT, ["batch", 4])]
    return _model(nodes, ins, outs, [c])


def matmul_model() -> bytes:
    """features: FP32 [N, 30] -> scores: FP32 [N, 2] = features @ ones(30, 2)."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [30, 2], [1.0] * 60)
    nodes = [helper.make_node("MatMul", ["features", "w"], ["scores"])]
    ins = [_io("features", TensorProto.FLOAT, [None, 30])]
    return _model(nodes, ins, [_io("scores", TensorProto.FLOAT, [None, 2])], [w])


def fixed_model() -> bytes:
    """x: FP32 [2, 3] -> y = x (fixed shape: served unbatched)."""
    nodes = [helper.make_node("Identity", ["x"], ["y"])]
    return _model(nodes, [_io("x", TensorProto.FLOAT, [2, 3])], [_io("y", TensorProto.FLOAT, [2, 3])])


def string_model() -> bytes:
    """text: BYTES [N] -> same: BYTES [N] (identity on strings)."""
    nodes = [helper.make_node("Identity", ["text"], ["same"])]
    return _model(nodes, [_io("text", TensorProto.STRING, ["n"])], [_io("same", TensorProto.STRING, ["n"])])


def scalar_model() -> bytes:
    """x: FP32 [] -> y = 2 * x (0-d tensors)."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [helper.make_node("Mul", ["x", "two"], ["y"])]
    return _model(nodes, [_io("x", TensorProto.FLOAT, [])], [_io("y", TensorProto.FLOAT, [])], [two])


def fp16_model() -> bytes:
    """h: FP16 [N, 3] -> h2 = h + h."""
    nodes = [helper.make_node("Add", ["h", "h"], ["h2"])]
    ins = [_io("h", TensorProto.FLOAT16, ["n", 3])]
    return _model(nodes, ins, [_io("h2", TensorProto.FLOAT16, ["n", 3])])


def bool_model() -> bytes:
    """flags: BOOL [N, 3] -> inverted = not flags."""
    nodes = [helper.make_node("Not", ["flags"], ["inverted"])]
    ins = [_io("flags", TensorProto.BOOL, ["n", 3])]
    return _model(nodes, ins, [_io("inverted", TensorProto.BOOL, ["n", 3])])


def unsupported_op_model() -> bytes:
    """A graph using an operator onnxruntime does not have."""
    nodes = [helper.make_node("NoSuchOperator", ["x"], ["y"])]
    return _model(nodes, [_io("x", TensorProto.FLOAT, ["n", 2])], [_io("y", TensorProto.FLOAT, ["n", 2])])


CORRUPT = b"\x08\x07this is not an ONNX protobuf\xff\xfe"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def serving(models_dir: Path, **settings: Any) -> AsyncIterator[InferenceCore]:
    """A started core over ``models_dir`` (2 threads unless given), stopped at the end."""
    settings.setdefault("threads", 2)
    core = InferenceCore(ServerSettings(models_dir=models_dir, **settings))
    await core.start()
    try:
        yield core
    finally:
        await core.stop(0)


@contextmanager
def blocked_runs(core: InferenceCore, model: str, version: str = "") -> Any:
    """Occupy every worker thread of a served version, so requests queue up until the block ends.

    Works below the scheduler: a batch (or direct run) that was dispatched waits for a worker, and the
    scheduler's own queue fills behind it, exactly as when the model is slow.
    """
    served = core._resolve(model, version)  # tests reach in to hold the real workers
    release = threading.Event()
    workers = served.pool.threads
    started = threading.Barrier(workers + 1)

    def hold() -> None:
        started.wait()
        release.wait()

    for _ in range(workers):
        served.pool.submit(hold, (), lambda *_: None)
    started.wait()
    try:
        yield served
    finally:
        release.set()


async def until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``condition`` holds (bounded so a broken test fails instead of hanging)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


def sequence_output_model() -> bytes:
    """x: FP32 [N, 2] -> parts: seq(tensor(float)), a type the inference protocol cannot carry."""
    nodes = [helper.make_node("SequenceConstruct", ["x"], ["parts"])]
    out = helper.make_tensor_sequence_value_info("parts", TensorProto.FLOAT, ["n", 2])
    return _model(nodes, [_io("x", TensorProto.FLOAT, ["n", 2])], [out])


def width_mismatch_model() -> bytes:
    """x: FP32 [N, M] (M symbolic) @ w[30, 2]: valid graph, but zeros of width 1 fail at run time."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [30, 2], [1.0] * 60)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    return _model(
        nodes, [_io("x", TensorProto.FLOAT, ["n", "m"])], [_io("y", TensorProto.FLOAT, ["n", 2])], [w]
    )


def identity_model() -> bytes:
    """x: FP32 [N, M] -> y = x (a dynamic non-batch axis: requests merge only when M agrees)."""
    nodes = [helper.make_node("Identity", ["x"], ["y"])]
    return _model(nodes, [_io("x", TensorProto.FLOAT, ["n", "m"])], [_io("y", TensorProto.FLOAT, ["n", "m"])])


def doubling_model() -> bytes:
    """x: FP32 [N, 2] -> twice: FP32 [2N, 2] (x stacked on itself): a dynamic leading axis that is not N."""
    nodes = [helper.make_node("Concat", ["x", "x"], ["twice"], axis=0)]
    out = [_io("twice", TensorProto.FLOAT, ["k", 2])]
    return _model(nodes, [_io("x", TensorProto.FLOAT, ["n", 2])], out)
