"""Fixtures for copybook codec tests: code pages and a small parse helper."""

from __future__ import annotations

import pytest

from adapters.codecs.copybook.codepages import Codepage, get_codepage


@pytest.fixture
def cp037() -> Codepage:
    return get_codepage("cp037")


@pytest.fixture
def ascii_page() -> Codepage:
    return get_codepage("ascii")
