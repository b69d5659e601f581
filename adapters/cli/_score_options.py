"""The options of ``bridgeway score`` and their translation into the pipelines' ``input``/``output`` specs.

The specs are the config file's own models (``adapters.config_formats``), so a file scores the same way
from the command line as from ``bridgeway.yaml``, and an option that does not fit the format is refused the
same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import TypeAdapter, ValidationError

from adapters.config_formats import InputSpec, OutputSpec

__all__ = ["OptionError", "ScoreOptions", "score_options"]

_INPUT_FORMATS = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_RECORD_FORMATS = ["F", "FB", "V", "VB", "text"]
_OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# spec key -> command-line option, for messages
_OPTION_NAMES = {
    "copybook": "--copybook",
    "encoding": "--encoding",
    "record_format": "--record-format",
    "record_length": "--record-length",
    "rdw_order": "--rdw-order",
    "rdw_includes_header": "--rdw-includes-header",
    "delimiter": "--delimiter",
    "result_copybook": "--result-copybook",
    "carry": "--carry",
    "format": "--format",
}


class OptionError(ValueError):
    """The options do not make a valid request; the message names the option."""


def score_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Attach the ``bridgeway score`` arguments and options to ``command``."""
    path = click.Path(dir_okay=False, path_type=Path)
    existing = click.Path(exists=True, dir_okay=False, path_type=Path)
    decorators = [
        click.argument("input_path", metavar="INPUT", type=existing),
        click.option("-o", "--output", required=True, type=path, help="Result file (written atomically)."),
        click.option("--model", required=True, help="NAME or NAME:VERSION."),
        click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Model repository for in-process scoring (default: ./models)."),
        click.option("--gateway", "gateway_target", metavar="HOST:PORT", help="Score through a gateway."),
        click.option("--token-file", type=existing, help="Bearer token for --gateway."),
        click.option("--format", "input_format", type=click.Choice(["csv", "jsonl", "fixed"]),
                     help="Input format (default: from INPUT's extension; fixed with --copybook)."),
        click.option("--output-format", type=click.Choice(["csv", "jsonl", "fixed"]),
                     help="Result format (default: from OUTPUT's extension, else the input's)."),
        click.option("--copybook", type=existing, help="Copybook of fixed-width input records."),
        click.option("--encoding", help="Input text encoding (csv, jsonl) or code page (fixed)."),
        click.option("--record-format", type=click.Choice(_RECORD_FORMATS, case_sensitive=False)),
        click.option("--record-length", type=click.IntRange(min=1)),
        click.option("--rdw-order", type=click.Choice(["big", "little"])),
        click.option("--rdw-includes-header", type=click.BOOL),
        click.option("--result-copybook", type=existing, help="Copybook of fixed-width result records."),
        click.option("--output-encoding", help="Result text encoding (csv) or code page (fixed)."),
        click.option("--delimiter", help="CSV delimiter of input and result (default ',')."),
        click.option("--carry", multiple=True, help="Field copied into every result (repeat, or a,b,c)."),
        click.option("--on-bad-record", type=click.Choice(["reject", "fail"]), default="reject",
                     show_default=True, help="reject: to the rejects file and go on; fail: stop."),
        click.option("--chunk-rows", type=click.IntRange(min=1), default=10_000, show_default=True),
        click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True),
                     help="Deadline of each inference call, in seconds."),
        click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."),
    ]  # fmt: skip
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


@dataclass(frozen=True, slots=True)
class ScoreOptions:
    input_path: Path
    output: Path
    model: str
    input_spec: Any  # adapters.config_formats.InputSpec
    output_spec: Any  # adapters.config_formats.OutputSpec
    models_dir: Path
    gateway_target: str | None
    token_file: Path | None
    on_bad_record: str
    chunk_rows: int
    timeout_s: float | None

    @classmethod
    def from_cli(cls, options: dict[str, Any]) -> ScoreOptions:
        if options["models_dir"] is not None and options["gateway_target"] is not None:
            raise OptionError("give --models (score in this process) or --gateway (score remotely), not both")
        if options["token_file"] is not None and options["gateway_target"] is None:
            raise OptionError("--token-file goes with --gateway")
        input_format = _input_format(options)
        return cls(
            input_path=options["input_path"],
            output=options["output"],
            model=options["model"],
            input_spec=_validate(InputSpec, _input_values(input_format, options), "input"),
            output_spec=_validate(OutputSpec, _output_values(input_format, options), "output"),
            models_dir=options["models_dir"] or Path("models"),
            gateway_target=options["gateway_target"],
            token_file=options["token_file"],
            on_bad_record=options["on_bad_record"],
            chunk_rows=options["chunk_rows"],
            timeout_s=options["timeout_s"],
        )


def _input_format(options: dict[str, Any]) -> str:
    if options["input_format"]:
        return str(options["input_format"])
    if options["copybook"] is not None:
        return "fixed"
    found = _INPUT_FORMATS.get(options["input_path"].suffix.lower())
    if found is None:
        raise OptionError(
            f"--format: cannot tell the format of {options['input_path'].name}; say csv, jsonl or fixed"
        )
    return found


def _input_values(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"format": fmt}
    keys = ("copybook", "encoding", "record_format", "record_length", "rdw_order", "rdw_includes_header")
    for key in (*keys, "delimiter"):
        if options[key] is not None:
            values[key] = (
                options[key].upper() if key == "record_format" and options[key] != "text" else options[key]
            )
    return values


def _output_values(input_format: str, options: dict[str, Any]) -> dict[str, Any]:
    fmt = options["output_format"] or _OUTPUT_FORMATS.get(options["output"].suffix.lower())
    if fmt is None:
        fmt = "fixed" if options["result_copybook"] is not None else input_format
    carry = [name.strip() for item in options["carry"] for name in item.split(",") if name.strip()]
    values: dict[str, Any] = {"format": fmt, "carry": carry}
    if options["result_copybook"] is not None:
        values["result_copybook"] = options["result_copybook"]
    if options["output_encoding"] is not None:
        values["encoding"] = options["output_encoding"]
    if options["delimiter"] is not None and fmt == "csv":
        values["delimiter"] = options["delimiter"]
    if fmt == "fixed" and input_format == "fixed":
        for key in ("record_format", "rdw_order", "rdw_includes_header"):
            if options[key] is not None:
                values[key] = (
                    options[key].upper()
                    if key == "record_format" and options[key] != "text"
                    else options[key]
                )
    return values


def _validate(spec: Any, values: dict[str, Any], section: str) -> Any:
    try:
        return TypeAdapter(spec).validate_python(values, context={"base_dir": Path.cwd()})
    except ValidationError as exc:
        raise OptionError("; ".join(_problem(e, values, section) for e in exc.errors())) from exc


def _problem(error: Any, values: dict[str, Any], section: str) -> str:
    parts = [p for p in error["loc"] if p not in ("csv", "jsonl", "fixed", "json")]
    key = str(parts[0]) if parts else ""
    option = _OPTION_NAMES.get(key, f"--{key.replace('_', '-')}") if key else f"the {section}"
    if error["type"] == "extra_forbidden":
        return f"{option} does not apply to {section} format {values.get('format')}"
    if error["type"] == "missing":
        return f"{option} is required for {section} format {values.get('format')}"
    return f"{option}: {str(error['msg']).removeprefix('Value error, ')}"
