"""The folder pipeline's disposition table (STYLE.md §5.4): quarantine, retry (bounded or not), stop."""

from __future__ import annotations

import errno

import pytest

from adapters.codecs.errors import RecordLengthError
from adapters.files.dispositions import disposition
from adapters.files.processor import FileFailed, Stopped
from adapters.mapping import MappingConfigError
from gateway.errors import (
    DeadlineExceeded,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    ModelNotReady,
    QueueFull,
    RuntimeFailure,
    ServerDraining,
)


@pytest.mark.parametrize(
    ("error", "action", "bounded"),
    [
        (FileFailed("bad record"), "quarantine", True),
        (MappingConfigError("no field"), "quarantine", True),
        (RecordLengthError("short"), "quarantine", True),
        (ModelNotFound("x"), "quarantine", True),
        (ModelLoadFailed("x"), "quarantine", True),
        (RuntimeFailure("x"), "quarantine", True),
        (InvalidInput("x"), "quarantine", True),
        (ModelNotReady("x"), "retry", False),
        (ServerDraining("x"), "retry", False),
        (QueueFull("x"), "retry", False),
        (DeadlineExceeded("x"), "retry", True),
        (OSError(errno.ENOSPC, "No space left on device"), "retry", False),
        (OSError(errno.EIO, "Input/output error"), "retry", True),
        (Stopped("stopping"), "stop", True),
    ],
)
def test_each_error_class_has_its_disposition(error: Exception, action: str, bounded: bool) -> None:
    verdict = disposition(error)
    assert (verdict.action, verdict.bounded) == (action, bounded)
    assert not verdict.internal


def test_an_unexpected_error_is_quarantined_as_an_internal_error_with_its_type() -> None:
    verdict = disposition(KeyError("surprise"))
    assert verdict.action == "quarantine" and verdict.internal
    assert verdict.reason == "internal error: KeyError: 'surprise'"
