"""Helpers for checking deploy/ against the code: manifests parsed with pyyaml, command lines parsed with the
real click commands (without running them), config files loaded with the real schemas.

Container paths under ``/etc/bridgeway`` are materialised in a temporary folder from the ConfigMap (or the
compose files), so that options which must name an existing file parse as they would in the container.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from adapters.cli import main

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
CONFIG_ROOT = "/etc/bridgeway/"

__all__ = [
    "CONFIG_ROOT",
    "DEPLOY",
    "KUBERNETES",
    "ROOT",
    "command_for",
    "parse_command_line",
    "project_version",
]


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def command_for(args: Sequence[str]) -> click.Command:
    """The ``bridgeway`` subcommand a container's arguments name; skips loudly if it is not built yet."""
    name = args[0]
    command = main.commands.get(name)
    if command is None:
        pytest.skip(
            f"'bridgeway {name}' is not part of the CLI yet, so its container arguments cannot be parsed"
        )
    return command


def parse_command_line(args: Sequence[str], files: Mapping[str, str], tmp_path: Path) -> dict[str, Any]:
    """Parse ``bridgeway <args>`` with the real click command; files under /etc/bridgeway come from ``files``.

    Returns the command's parameters. Raises click.UsageError / BadParameter as the CLI would.
    """
    local = tmp_path / "etc-bridgeway"
    for relative, text in files.items():
        target = local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    rewritten = [_local(arg, local) for arg in args[1:]]
    command = command_for(args)
    with command.make_context(args[0], rewritten) as context:
        return dict(context.params)


def _local(arg: str, local: Path) -> str:
    if CONFIG_ROOT in arg:
        return arg.replace(CONFIG_ROOT, f"{local}/")
    return arg


def option_values(args: Sequence[str]) -> dict[str, str]:
    """``--name=value`` / ``--name value`` pairs of a command line, by option name."""
    values: dict[str, str] = {}
    items = list(args)
    for index, arg in enumerate(items):
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            if not sep and index + 1 < len(items) and not items[index + 1].startswith("--"):
                value = items[index + 1]
            values[name] = value
    return values


def load_documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document is not None:
            yield document
