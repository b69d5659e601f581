"""The ``bridgeway`` command: the composition root that wires configuration to concrete classes.

Each subcommand group lives in its own module and registers itself on ``main`` here.
"""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bridgeway")
def main() -> None:
    """Bridgeway: serve ONNX models to ERPs, mainframes and message queues."""


def _register() -> None:
    # Subcommand modules import their heavy dependencies lazily inside the commands, so `bridgeway --help`
    # stays fast. A module that does not exist yet is simply not registered.
    import importlib

    for module in ("serve", "models", "copybook", "score", "run", "audit", "health"):
        try:
            mod = importlib.import_module(f"adapters.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"adapters.cli.{module}":
                raise
            continue
        for command in getattr(mod, "COMMANDS", ()):
            main.add_command(command)


_register()
