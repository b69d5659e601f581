"""gateway.status: one mapping from exceptions to gRPC statuses, never a traceback in a message."""

from __future__ import annotations

import logging

import grpc
import pytest

from gateway import errors
from gateway.logs import request_id_var
from gateway.status import status_for

ALL_ERRORS = [
    cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.BridgewayError)
]


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_gateway_error_leaves_with_its_own_code_and_message(cls: type[errors.BridgewayError]) -> None:
    assert status_for(cls("what went wrong")) == (cls.grpc_code, "what went wrong")


def test_the_design_table_codes_hold() -> None:
    expected = {
        errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
        errors.ModelNotFound: grpc.StatusCode.NOT_FOUND,
        errors.ModelNotReady: grpc.StatusCode.UNAVAILABLE,
        errors.ServerDraining: grpc.StatusCode.UNAVAILABLE,
        errors.QueueFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
        errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
        errors.ModelLoadFailed: grpc.StatusCode.FAILED_PRECONDITION,
        errors.RuntimeFailure: grpc.StatusCode.INTERNAL,
    }
    assert {cls: status_for(cls("x"))[0] for cls in expected} == expected


def test_unexpected_exception_is_internal_pointing_at_the_log_by_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = request_id_var.set("req-77")
    try:
        with caplog.at_level(logging.ERROR, logger="gateway.status"):
            try:
                raise KeyError("secret detail")
            except KeyError as exc:
                code, message = status_for(exc)
    finally:
        request_id_var.reset(token)
    assert code == grpc.StatusCode.INTERNAL
    assert message == "internal error (see server log, request id req-77)"
    assert "secret detail" not in message
    (record,) = caplog.records
    assert record.exc_info is not None  # the traceback goes to the server log


def test_caller_faults_are_logged_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.status"):
        status_for(errors.InvalidInput("input 'x': bad"))
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert record.exc_info is None
