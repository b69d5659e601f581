"""Masking of configured field names in log output (``logging: {mask: [...]}``).

A masked name hides its value wherever the name appears in a log line: as a key of the line's structured
fields at any depth (dicts inside lists inside dicts…), and inside free text (the event message, an
exception) in the ``name=value``, ``name: value``, ``"name": "value"`` and ``'name': 'value'`` forms.
Names match the way record fields do: case-insensitively, with ``-`` and ``_`` alike (``NATIONAL-ID``
masks ``national_id``).

This is a second line of defence: by default nothing logs record values, tensors or message bodies at
all; masking covers values that reach a log anyway, e.g. inside a third-party exception message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "Masker"]

MASK = "***"


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")


class Masker:
    """Replaces the values of the given field names. An empty masker returns its input unchanged."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = frozenset(_normal(n) for n in names if n.strip())
        self._text = _text_pattern(self.names) if self.names else None

    def __bool__(self) -> bool:
        return bool(self.names)

    def masks(self, key: str) -> bool:
        return _normal(key) in self.names

    def fields(self, value: Any) -> Any:
        """``value`` with every masked key's value replaced, recursively through dicts, lists and tuples."""
        if not self.names:
            return value
        if isinstance(value, dict):
            return {
                k: MASK if isinstance(k, str) and self.masks(k) else self.fields(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.fields(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def text(self, text: str) -> str:
        """``text`` with the value after each masked ``name=``/``name:`` replaced."""
        if self._text is None or not text:
            return text
        return self._text.sub(_masked_value, text)


def _masked_value(match: re.Match[str]) -> str:
    quote = match.group("q") or ""
    return match.group("lead") + quote + MASK + quote


def _text_pattern(names: frozenset[str]) -> re.Pattern[str]:
    # Each name matches with "-" or "_" (or nothing, for camel case) between its words.
    alternatives = "|".join(
        "[-_]?".join(re.escape(word) for word in name.split("_"))
        for name in sorted(names, key=len, reverse=True)
    )
    quoted_value = r"""(?P<q>["'])(?:\\.|(?!(?P=q)).)*(?P=q)"""
    bare_value = r"""[^\s,;&)}\]"']+"""
    return re.compile(
        rf"""(?P<lead>(?<![\w-])["']?(?:{alternatives})["']?\s*[=:]\s*)"""
        rf"""(?:{quoted_value}|{bare_value})""",
        re.IGNORECASE,
    )
