"""The examples in the codec's docstrings run and show what they claim (they document subtle formats)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "adapters.codecs.errors",
    "adapters.codecs.jsonl",
    "adapters.codecs.copybook",
    "adapters.codecs.copybook.codepages",
    "adapters.codecs.copybook.edited",
    "adapters.codecs.copybook.fields",
    "adapters.codecs.copybook.layout",
    "adapters.codecs.copybook.numeric",
    "adapters.codecs.copybook.parser",
    "adapters.codecs.copybook.picture",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
