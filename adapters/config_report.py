"""Turning pydantic's validation errors on ``bridgeway.yaml`` into messages an administrator can act on.

Each problem becomes one line ``LINE: key.path: what is wrong``: the line of the YAML file where the bad key
(or, for a missing key, its parent) sits, the path with list indexes and pipeline names
(``pipelines[1] (erp-claims).source.inbox``), and a message that suggests the intended key for a typo and
says which format a misplaced format option belongs to.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["ConfigFileError", "describe_errors"]

# Tags of the discriminated unions: pydantic puts the chosen tag into the error location.
_TAGS = {
    "source": {"files", "amqp"},
    "inference": {"local", "remote"},
    "input": {"csv", "jsonl", "json", "fixed"},
    "output": {"csv", "jsonl", "json", "fixed"},
}


class ConfigFileError(ValueError):
    """The config file is unreadable or invalid; ``problems`` holds one message per mistake."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))

    def report(self) -> str:
        """Every problem on its own line, each prefixed with the file name."""
        return "\n".join(
            f"{self.source}:{p}" if p[:1].isdigit() else f"{self.source}: {p}" for p in self.problems
        )


def describe_errors(exc: ValidationError, raw: Any, text: str = "") -> list[str]:
    """One message per error of ``exc``, located in ``raw`` (and in ``text``'s lines when given)."""
    lines = _LineIndex(text)
    vocabulary = _vocabulary()
    found: list[tuple[int, str]] = []
    for error in exc.errors():
        loc = _strip_tags(tuple(error["loc"]))
        path = _display(loc, raw)
        message = _message(error, loc, raw, vocabulary)
        line = lines.find(loc, error["type"] == "missing")
        prefix = f"{line}: " if line else ""
        found.append((line, f"{prefix}{path}: {message}" if path else f"{prefix}{message}"))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    kept: list[Any] = []
    for part in loc:
        if kept and isinstance(part, str) and part in _TAGS.get(str(kept[-1]), ()):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        kept.append(part)
    return tuple(kept)


def _display(loc: tuple[Any, ...], raw: Any) -> str:
    text = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str) and text.startswith("pipelines"):
                text += f" ({node['name']})"
            continue
        text += f".{part}" if text else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return text


def _message(error: Any, loc: tuple[Any, ...], raw: Any, vocabulary: list[str]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden" and loc:
        return _unknown_key(str(loc[-1]), loc, raw, vocabulary)
    if kind == "union_tag_not_found":
        field = error.get("ctx", {}).get("discriminator", "").strip("'")
        return f"missing {field!r}" + _choices(loc)
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"{ctx.get('tag')!r} is not a known {ctx.get('discriminator', '').strip(chr(39))}" + _choices(
            loc
        )
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _choices(loc: tuple[Any, ...]) -> str:
    tags = _TAGS.get(str(loc[-1]) if loc else "", set())
    return f" (one of: {', '.join(sorted(tags))})" if tags else ""


def _unknown_key(key: str, loc: tuple[Any, ...], raw: Any, vocabulary: list[str]) -> str:
    from adapters.config_formats import FORMAT_OPTIONS

    if len(loc) >= 2 and loc[-2] in ("input", "output"):
        section = _lookup(raw, loc[:-1])
        fmt = section.get("format") if isinstance(section, dict) else None
        owners = sorted(f for f, keys in FORMAT_OPTIONS.items() if key in keys and f != fmt)
        if owners:
            return f"unknown key for format {fmt!r}; {key!r} applies to format {' or '.join(owners)}"
    close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.75)
    return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _vocabulary() -> list[str]:
    """Every key any config section accepts, for "did you mean" suggestions."""
    from adapters import config, config_formats

    names: set[str] = set()
    for module in (config, config_formats):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
                names.update(value.model_fields)
    return sorted(names)


class _LineIndex:
    """Finds the 1-based line of a key path in the YAML text (0 when unknown)."""

    def __init__(self, text: str) -> None:
        try:
            self._root = yaml.compose(text) if text else None
        except yaml.YAMLError:
            self._root = None

    def find(self, loc: tuple[Any, ...], missing: bool) -> int:
        node = self._root
        if node is None:
            return 0
        path = loc[:-1] if missing else loc
        line = node.start_mark.line + 1
        for part in path:
            node = self._child(node, part)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    @staticmethod
    def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # An unknown key is reported at the key itself, a bad value at the value.
                    return value if not isinstance(value, yaml.ScalarNode) or value.value else key
            return None
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child: yaml.Node = node.value[part]
            return child
        return None
