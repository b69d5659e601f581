"""Per inference request: check that the caller may use the model, run it, and leave one audit event.

The servicer calls ``InferenceGuard.infer`` for every ModelInfer request and every request of a
ModelStreamInfer stream, so both are authorised and audited the same way, request by request. The caller
comes from ``gateway.auth.caller_var`` (``anonymous`` when authentication is off). The audit event names the
model version and file SHA-256 that answered, the request id and a digest of the inputs, never the inputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from gateway.audit import AuditLog
from gateway.auth import current_caller
from gateway.errors import BridgewayError
from gateway.types import InferRequest, InferResponse, Tensor

__all__ = ["InferenceGuard", "inputs_digest", "outcome_of"]


def inputs_digest(tensors: Sequence[Tensor]) -> str:
    """SHA-256 hex over the inputs in name order: name, datatype and shape, then the data as the wire's raw
    form (little-endian elements; BYTES elements each behind a 4-byte little-endian length).

    Equal inputs give equal digests whether they came typed or raw, so a caller can recompute it.
    """
    digest = hashlib.sha256()
    for tensor in sorted(tensors, key=lambda t: t.name):
        header = f"{tensor.name}\0{tensor.datatype}\0{','.join(map(str, tensor.shape))}\0"
        digest.update(header.encode("utf-8"))
        data = tensor.data
        if data.dtype == object:
            for element in data.reshape(-1):
                raw = element if isinstance(element, bytes) else str(element).encode("utf-8")
                digest.update(struct.pack("<I", len(raw)))
                digest.update(raw)
        else:
            digest.update(np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


def outcome_of(exc: BaseException) -> str:
    """The audit outcome of a failed request: its gRPC status name (``CANCELLED`` if the caller left)."""
    if isinstance(exc, BridgewayError):
        return str(exc.grpc_code.name)
    if isinstance(exc, asyncio.CancelledError):
        return "CANCELLED"
    return "INTERNAL"


class InferenceGuard:
    """Authorises and audits inference requests. ``audit``: where events go (None: authorise only)."""

    def __init__(self, audit: AuditLog | None) -> None:
        self._audit = audit

    async def infer(
        self,
        model: str,
        request_id: str,
        decode: Callable[[], InferRequest],
        run: Callable[[InferRequest], Awaitable[InferResponse]],
    ) -> InferResponse:
        """``decode()`` the request and ``run`` it if the caller may use ``model``; record the outcome.

        Raises PermissionDenied before decoding when the caller may not use the model, and whatever
        ``decode`` and ``run`` raise.
        """
        caller = current_caller()
        started = time.perf_counter()
        request: InferRequest | None = None
        try:
            caller.authorize(model)
            request = decode()
            request.caller = caller.who
            response = await run(request)
        except BaseException as exc:
            self._record(caller.who, model, request_id, request, None, outcome_of(exc), started)
            raise
        self._record(caller.who, model, request_id, request, response, "OK", started)
        return response

    def _record(
        self,
        who: str,
        model: str,
        request_id: str,
        request: InferRequest | None,
        response: InferResponse | None,
        outcome: str,
        started: float,
    ) -> None:
        if self._audit is None:
            return
        inputs = request.inputs if request is not None else None
        input_ref: Callable[[], dict[str, Any]] | None = None
        if inputs is not None:
            # Hashed on the audit writer's thread, not on the event loop.
            input_ref = lambda: {"inputs_sha256": inputs_digest(inputs)}  # noqa: E731
        self._audit.record(
            who=who,
            model=model,
            model_version=response.model_version if response is not None else _asked_version(request),
            model_sha256=response.model_sha256 if response is not None else "",
            request_id=request_id,
            input_ref=input_ref,
            outcome=outcome,
            latency_ms=(time.perf_counter() - started) * 1e3,
        )


def _asked_version(request: InferRequest | None) -> str:
    return request.model_version if request is not None else ""
