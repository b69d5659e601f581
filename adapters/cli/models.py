"""``bridgeway models list|inspect``: what a model repository serves, for a human at a terminal.

Both commands load the repository in-process with the gateway's own core (the same loading, warm-up and
failure reasons a gateway would report), print rich tables, and unload again. ``inspect`` exits 1 when the
model failed to load, so scripts can use it as a check.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gateway.types import ModelConfigInfo, ModelIndexEntry, ModelMetadata, TensorFields, TensorSpec

__all__ = ["COMMANDS", "models"]


@dataclass
class _Snapshot:
    """What the core reported about a repository, gathered before it is stopped again."""

    index: list[ModelIndexEntry]
    metadata: dict[str, ModelMetadata] = field(default_factory=dict)
    configs: dict[str, ModelConfigInfo] = field(default_factory=dict)


async def _snapshot(models_dir: Path) -> _Snapshot:
    from gateway.config import ServerSettings
    from gateway.core import InferenceCore
    from gateway.errors import BridgewayError

    core = InferenceCore(ServerSettings(models_dir=models_dir))
    await core.start()
    try:
        snapshot = _Snapshot(core.repository_index())
        for name in core.model_names():
            try:
                snapshot.metadata[name] = core.model_metadata(name)
                snapshot.configs[name] = core.model_config(name)
            except BridgewayError:
                continue  # not served: the index row carries the state and the reason
        return snapshot
    finally:
        await core.stop(0)


def _load(models_dir: Path) -> _Snapshot:
    if not models_dir.is_dir():
        raise click.UsageError(f"--models: {models_dir} is not a folder")
    # Load failures are shown in the tables with their reasons; log lines would only repeat them.
    logging.getLogger().setLevel(logging.CRITICAL)
    return asyncio.run(_snapshot(models_dir))


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _tensors(specs: tuple[TensorSpec, ...]) -> str:
    return "\n".join(f"{s.name} {s.datatype} {_shape(s.shape)}" for s in specs)


def _state(rows: list[ModelIndexEntry]) -> str:
    return "\n".join(f"{r.version}: {r.state}" + (f" ({r.reason})" if r.reason else "") for r in rows)


models_dir_option = click.option(
    "--models",
    "models_dir",
    type=click.Path(path_type=Path),
    default=Path("models"),
    show_default=True,
    help="Model repository folder.",
)


@click.group()
def models() -> None:
    """Inspect the models of a repository."""


@models.command("list")
@models_dir_option
def list_models(models_dir: Path) -> None:
    """One row per model: versions, state (with the reason of a failure), inputs and outputs."""
    from rich.console import Console
    from rich.table import Table

    snapshot = _load(models_dir)
    table = Table("Model", "Versions", "State", "Inputs", "Outputs", title=f"Models in {models_dir}")
    names = sorted({row.name for row in snapshot.index})
    for name in names:
        rows = [row for row in snapshot.index if row.name == name]
        metadata = snapshot.metadata.get(name)
        table.add_row(
            name,
            ", ".join(row.version for row in rows),
            _state(rows),
            _tensors(metadata.inputs) if metadata else "",
            _tensors(metadata.outputs) if metadata else "",
        )
    Console().print(table)


def _mapping(fields: tuple[TensorFields, ...], tensor: str) -> str:
    for mapping in fields:
        if mapping.tensor == tensor:
            return ", ".join(mapping.fields) if mapping.columns else f"{mapping.fields[0]} (one field)"
    return ""


def _tensor_table(title: str, specs: tuple[TensorSpec, ...], fields: tuple[TensorFields, ...]) -> object:
    from rich.table import Table

    table = Table(
        "Name", "Datatype", "Shape", "Record fields (model.yaml)", title=title, title_justify="left"
    )
    for spec in specs:
        table.add_row(spec.name, spec.datatype, _shape(spec.shape), _mapping(fields, spec.name))
    return table


def _batching(config: ModelConfigInfo) -> str:
    batching = config.batching
    if batching is None:
        return "off (served unbatched)"
    preferred = ", ".join(map(str, batching.preferred_batch_sizes)) or "none"
    queue = batching.max_queue_size or "unbounded"
    return (
        f"max_batch_size {batching.max_batch_size}, max_queue_delay_us {batching.max_queue_delay_us}, "
        f"preferred sizes {preferred}, queue {queue}"
    )


@models.command("inspect")
@click.argument("name")
@models_dir_option
def inspect_model(name: str, models_dir: Path) -> None:
    """Inputs and outputs with shapes and datatypes, record field mapping and batching of one model."""
    from rich.console import Console

    snapshot = _load(models_dir)
    rows = [row for row in snapshot.index if row.name == name]
    if not rows:
        known = ", ".join(sorted({row.name for row in snapshot.index})) or "none"
        raise click.UsageError(f"unknown model '{name}' in {models_dir} (models: {known})")
    console = Console()
    metadata, config = snapshot.metadata.get(name), snapshot.configs.get(name)
    console.print(
        f"[bold]{name}[/bold]" + (f" - {config.description}" if config and config.description else "")
    )
    console.print("Versions:\n" + _state(rows), highlight=False)
    if metadata is None or config is None:
        raise SystemExit(1)
    console.print(f"Serving version {config.version} ({config.platform})", highlight=False)
    console.print(_tensor_table("Inputs", metadata.inputs, config.input_fields))
    console.print(_tensor_table("Outputs", metadata.outputs, config.output_fields))
    console.print(f"Batching: {_batching(config)}", highlight=False)


COMMANDS = [models]
