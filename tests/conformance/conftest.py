"""Where the shared conformance corpora live: ``$BRIDGEWAY_SHARED``, else ``shared/`` beside the clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder. Missing: a failure when CI is set (the corpus must be there), else a loud skip."""
    configured = os.environ.get("BRIDGEWAY_SHARED")
    folder = Path(configured) if configured else Path(__file__).parents[2] / ".." / "shared"
    if not (folder / "conformance").is_dir():
        message = f"conformance corpus not found at {folder.resolve()} (set BRIDGEWAY_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"NO CONFORMANCE CORPUS: {message}")
    return folder.resolve()


@pytest.fixture(scope="session")
def cobrix_dir(shared_dir: Path) -> Path:
    return shared_dir / "conformance" / "cobrix"
