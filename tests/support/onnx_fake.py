"""A FakeInferenceClient that serves a model repository with plain onnxruntime sessions.

It is the fake the contract suite holds to the same contract as the real clients: same outputs for the same
inputs, same error classes for unknown models and bad inputs. It shares no code with the gateway (no core,
batcher or validation), so agreement is evidence, not tautology. Like the gateway's default version policy it
serves the highest version of each model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from gateway.config import load_model_yaml
from gateway.datatypes import by_name, by_onnx
from gateway.errors import InvalidInput, ModelNotFound
from gateway.repository import file_sha256
from gateway.types import InferRequest, InferResponse, Tensor, TensorFields, TensorSpec
from tests.fakes import FakeInferenceClient, FakeModel

__all__ = ["onnx_fake_client"]


def onnx_fake_client(models_dir: Path) -> FakeInferenceClient:
    """Every ``<name>/<highest version>/model.onnx`` under ``models_dir``, served by onnxruntime."""
    served: dict[str, tuple[FakeModel, ort.InferenceSession]] = {}
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        versions = sorted(
            int(v.name) for v in folder.iterdir() if v.name.isdigit() and (v / "model.onnx").is_file()
        )
        if versions:
            served[folder.name] = _load(folder, str(versions[-1]))

    def handler(request: InferRequest) -> InferResponse:
        entry = served.get(request.model_name)
        if entry is None or request.model_version not in ("", entry[0].version):
            raise ModelNotFound(f"unknown model {request.model_name!r} version {request.model_version!r}")
        model, session = entry
        feeds = _feeds(model, request)
        names = request.outputs or [spec.name for spec in model.outputs]
        unknown = [n for n in names if n not in {s.name for s in model.outputs}]
        if unknown:
            raise InvalidInput(f"output {unknown[0]!r}: model {model.name!r} has no such output")
        results = session.run(names, feeds)
        specs = {spec.name: spec for spec in model.outputs}
        outputs = [
            Tensor(n, specs[n].datatype, _from_ort(r, specs[n].datatype))
            for n, r in zip(names, results, strict=True)
        ]
        return InferResponse(model.name, model.version, outputs, request.id, model_sha256=model.sha256)

    return FakeInferenceClient(handler, [model for model, _ in served.values()])


def _load(folder: Path, version: str) -> tuple[FakeModel, ort.InferenceSession]:
    path = folder / version / "model.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    settings = load_model_yaml(folder / "model.yaml")
    batching = settings.batching if settings.batching else None
    model = FakeModel(
        name=folder.name,
        inputs=tuple(_spec(arg) for arg in session.get_inputs()),
        outputs=tuple(_spec(arg) for arg in session.get_outputs()),
        version=version,
        input_fields=tuple(
            TensorFields(name, m.names, m.fields is not None) for name, m in settings.inputs.items()
        ),
        output_fields=tuple(
            TensorFields(name, m.names, m.fields is not None) for name, m in settings.outputs.items()
        ),
        max_batch_size=batching.max_batch_size if batching is not None else 0,
        sha256=file_sha256(path),
    )
    return model, session


def _spec(arg: ort.NodeArg) -> TensorSpec:
    datatype = by_onnx(arg.type)
    assert datatype is not None, f"unsupported ONNX type {arg.type}"
    shape = tuple(d if isinstance(d, int) else -1 for d in arg.shape)
    return TensorSpec(arg.name, datatype.name, shape)


def _feeds(model: FakeModel, request: InferRequest) -> dict[str, np.ndarray]:
    expected = {spec.name: spec for spec in model.inputs}
    given = {tensor.name: tensor for tensor in request.inputs}
    for name in given.keys() - expected.keys():
        raise InvalidInput(f"input {name!r}: model {model.name!r} has no such input")
    for name in expected.keys() - given.keys():
        raise InvalidInput(f"input {name!r}: missing from the request")
    feeds = {}
    for name, spec in expected.items():
        tensor = given[name]
        if tensor.datatype != spec.datatype:
            raise InvalidInput(f"input {name!r}: expected datatype {spec.datatype}, got {tensor.datatype}")
        shape = tensor.data.shape
        if len(shape) != len(spec.shape) or any(
            w not in (-1, g) for w, g in zip(spec.shape, shape, strict=True)
        ):
            raise InvalidInput(f"input {name!r}: expected shape {list(spec.shape)}, got {list(shape)}")
        feeds[name] = _to_ort(tensor.data, spec.datatype)
    return feeds


def _to_ort(data: np.ndarray, datatype: str) -> np.ndarray:
    if datatype != "BYTES":
        return data.astype(by_name(datatype).numpy, copy=False)  # type: ignore[union-attr]
    return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(data)


def _from_ort(data: np.ndarray, datatype: str) -> np.ndarray:
    if datatype != "BYTES":
        return np.asarray(data)
    return np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(np.asarray(data, dtype=object))
