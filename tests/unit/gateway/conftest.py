"""Fixtures for the gateway unit tests; the model builders and helpers live in ``gateway_testkit``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty model repository folder."""
    root = tmp_path / "models"
    root.mkdir()
    return root
