"""gateway.guard: per-request authorisation and one audit event per inference request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from gateway.audit import AuditLog, verify_chain
from gateway.auth import Caller, caller_var
from gateway.errors import InvalidInput, PermissionDenied
from gateway.guard import InferenceGuard, inputs_digest
from gateway.types import InferRequest, InferResponse, Tensor

SECRET = "123-45-6789"


def _request() -> InferRequest:
    data = np.array([[SECRET.encode()]], dtype=object)
    return InferRequest("echo", [Tensor("TEXT", "BYTES", data)], id="r-1")


async def _echo(request: InferRequest) -> InferResponse:
    return InferResponse(request.model_name, "3", request.inputs, request.id, model_sha256="cd" * 32)


def _run(guard: InferenceGuard, caller: Caller, model: str = "echo", run: object = _echo) -> object:
    async def scenario() -> object:
        caller_var.set(caller)
        try:
            return await guard.infer(model, "r-1", _request, run)  # type: ignore[arg-type]
        except Exception as exc:
            return exc

    return asyncio.run(scenario())


def test_an_allowed_request_runs_and_leaves_one_event_with_lineage_and_no_payload(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        response = _run(InferenceGuard(audit), Caller("token:erp", frozenset({"echo"})))
    assert isinstance(response, InferResponse)
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    (event,) = [json.loads(line) for line in text.splitlines()]
    assert event["who"] == "token:erp"
    assert (event["model"], event["model_version"], event["model_sha256"]) == ("echo", "3", "cd" * 32)
    assert (event["request_id"], event["outcome"]) == ("r-1", "OK")
    assert event["input_ref"] == {"inputs_sha256": inputs_digest(_request().inputs)}
    assert verify_chain([path]).events == 1


def test_a_refused_model_never_runs_and_is_audited_as_permission_denied(tmp_path: Path) -> None:
    ran = []

    async def run(request: InferRequest) -> InferResponse:
        ran.append(request)
        return await _echo(request)

    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        result = _run(InferenceGuard(audit), Caller("token:erp", frozenset({"other"})), run=run)
    assert isinstance(result, PermissionDenied) and not ran
    event = json.loads(path.read_text(encoding="utf-8"))
    assert (event["outcome"], event["model_version"], event["input_ref"]) == ("PERMISSION_DENIED", "", {})


def test_a_failed_request_is_audited_with_its_status_name(tmp_path: Path) -> None:
    async def run(request: InferRequest) -> InferResponse:
        raise InvalidInput("input 'TEXT': expected FP32")

    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        result = _run(InferenceGuard(audit), Caller("anonymous"), run=run)
    assert isinstance(result, InvalidInput)
    assert json.loads(path.read_text(encoding="utf-8"))["outcome"] == "INVALID_ARGUMENT"


def test_the_caller_reaches_the_request_for_the_core() -> None:
    seen = []

    async def run(request: InferRequest) -> InferResponse:
        seen.append(request.caller)
        return await _echo(request)

    _run(InferenceGuard(None), Caller("cert:CN=batch"), run=run)
    assert seen == ["cert:CN=batch"]


@pytest.mark.parametrize("typed", [np.float32, np.int64])
def test_the_inputs_digest_does_not_depend_on_memory_layout(typed: type) -> None:
    data = np.arange(6, dtype=typed).reshape(2, 3)
    fortran = np.asfortranarray(data)
    assert inputs_digest([Tensor("x", "FP32", data)]) == inputs_digest([Tensor("x", "FP32", fortran)])
    assert inputs_digest([Tensor("x", "FP32", data)]) != inputs_digest([Tensor("x", "FP32", data + 1)])
