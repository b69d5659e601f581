"""Small helpers for driving a gateway with the stock ``tritonclient.grpc``, as any caller would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

__all__ = ["failure", "infer", "inputs_for"]


def inputs_for(**arrays: np.ndarray) -> list[triton.InferInput]:
    """One raw InferInput per keyword, datatype and shape taken from the array."""
    inputs = []
    for name, array in arrays.items():
        item = triton.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        item.set_data_from_numpy(array)
        inputs.append(item)
    return inputs


def infer(client: triton.InferenceServerClient, model: str, **arrays: np.ndarray) -> Any:
    """Infer with every output; returns tritonclient's InferResult."""
    return client.infer(model, inputs_for(**arrays))


def failure(call: Callable[[], object]) -> tuple[str, str]:
    """Run ``call``, which must fail; returns (status code name, message), e.g. ("NOT_FOUND", "...")."""
    try:
        call()
    except InferenceServerException as exc:
        return str(exc.status()).removeprefix("StatusCode."), str(exc.message())
    raise AssertionError("the call succeeded but was expected to fail")
