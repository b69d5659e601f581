"""Small helpers for driving a gateway as any caller would: stock ``tritonclient.grpc`` and ``/metrics``."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

__all__ = ["failure", "infer", "inputs_for", "metrics_text", "wait_until_in_flight"]


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


def metrics_text(metrics_port: int) -> str:
    """The gateway's Prometheus exposition, as a scraper gets it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        return str(reply.read().decode("utf-8"))


def wait_until_in_flight(metrics_port: int, model: str, count: int, timeout_s: float = 10.0) -> None:
    """Poll ``bridgeway_requests_in_flight`` until ``model`` has at least ``count`` requests in the core."""
    pattern = re.compile(rf'^bridgeway_requests_in_flight{{model="{re.escape(model)}"}} (\S+)$', re.MULTILINE)
    deadline = time.monotonic() + timeout_s
    while True:
        found = pattern.search(metrics_text(metrics_port))
        if found and float(found.group(1)) >= count:
            return
        assert time.monotonic() < deadline, f"{model} never had {count} request(s) in flight"
        time.sleep(0.01)
