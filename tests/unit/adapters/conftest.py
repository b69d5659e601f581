"""Fixtures for adapter unit tests: a fake inference client serving ``tests.support.fake_models``."""

from __future__ import annotations

import pytest

from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, classify


@pytest.fixture
def classifier_client() -> FakeInferenceClient:
    return FakeInferenceClient(classify, [CLASSIFIER])
