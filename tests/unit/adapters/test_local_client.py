"""LocalInferenceClient lifecycle: start, deadlines, calls from many threads, drain on close."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from adapters.client.local import LocalInferenceClient
from gateway.config import ServerSettings
from gateway.errors import DeadlineExceeded, ServerDraining
from gateway.types import InferRequest, Tensor
from tests.support.models import MODELS_DIR

TINY = InferRequest("tiny-sum", [Tensor("x", "FP32", np.array([1, 2, 3], dtype=np.float32))])


@pytest.fixture
def client() -> Iterator[LocalInferenceClient]:
    local = LocalInferenceClient(ServerSettings(models_dir=MODELS_DIR, threads=1, drain_grace_s=2))
    local.start()
    yield local
    local.close()


def test_a_client_that_was_never_started_refuses_calls_as_draining():
    with pytest.raises(ServerDraining, match="not started"):
        LocalInferenceClient(MODELS_DIR).infer(TINY)


def test_start_is_idempotent_and_serves_the_repository(client):
    core = client.core
    client.start()

    assert client.core is core
    assert client.model_ready("tiny-sum") and client.model_ready("breast-cancer")


def test_calls_after_close_are_refused_as_draining(client):
    client.close()

    with pytest.raises(ServerDraining):
        client.infer(TINY)
    client.close()  # a second close is harmless


def test_a_deadline_that_has_already_passed_is_deadline_exceeded(client):
    with pytest.raises(DeadlineExceeded):
        client.infer(TINY, timeout_s=1e-9)


def test_the_callers_request_is_not_modified_by_the_timeout(client):
    request = InferRequest("tiny-sum", [Tensor("x", "FP32", np.ones(3, dtype=np.float32))])
    client.infer(request, timeout_s=30)

    assert request.deadline is None


def test_settings_may_be_just_the_models_folder():
    assert LocalInferenceClient(str(MODELS_DIR)).settings.models_dir == MODELS_DIR
