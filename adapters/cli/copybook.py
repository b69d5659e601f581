"""``bridgeway copybook show | decode | encode``: mainframe records <-> JSON Lines from the command line.

``decode`` streams DATA record by record into JSON Lines (memory bounded by one chunk, never the file);
``encode`` streams JSON Lines back into records. Bad records are reported on stderr as one line each
(record number, field, offset, bytes in hex, expected and found); with ``--on-error reject`` (the default)
the other records still go through and the exit status is 1; ``fail`` stops at the first bad record and
leaves no output file; ``null`` (decode only) writes the record with ``null`` for each bad field. Output is
written to a temporary file next to ``-o`` and renamed when complete, so a failed run never leaves a
half-written file under the requested name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from adapters.cli._copybook_show import render_layout

if TYPE_CHECKING:
    from adapters.codecs.copybook.framing import RecordFormat

__all__ = ["COMMANDS", "copybook"]


def _copybook_options(func: Any) -> Any:
    options = [
        click.option(
            "--copybook",
            "copybook_path",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="COBOL copybook describing one record.",
        ),
        click.option("--record", "record_name", help="The 01 record to use when the copybook holds several."),
        click.option(
            "--encoding",
            default="cp037",
            show_default=True,
            help="Code page: cp037, cp1047, cp500, cp273, cp1140, cp1141-cp1149, ascii, latin-1, utf-8.",
        ),
        click.option(
            "--record-format",
            type=click.Choice(["F", "FB", "V", "VB", "text"], case_sensitive=False),
            default="F",
            show_default=True,
            help="Fixed, variable (RDW), variable blocked (BDW+RDW) or newline-terminated text.",
        ),
        click.option(
            "--record-length",
            type=click.IntRange(min=1),
            help="Fixed record length (default: the copybook's length).",
        ),
        click.option(
            "--rdw-order",
            type=click.Choice(["big", "little"]),
            default="big",
            show_default=True,
            help="Byte order of the record descriptor word.",
        ),
        click.option(
            "--rdw-includes-header",
            type=click.BOOL,
            default=True,
            show_default=True,
            help="Whether the RDW length counts its own 4 bytes (IBM: true).",
        ),
        click.option(
            "--float-format",
            type=click.Choice(["ibm", "ieee"]),
            default="ibm",
            show_default=True,
            help="COMP-1/COMP-2 as IBM hexadecimal or IEEE 754.",
        ),
        click.option(
            "--native-byte-order",
            type=click.Choice(["big", "little"]),
            default="big",
            show_default=True,
            help="Byte order of COMP-5 and IEEE floats (little for GnuCOBOL/Micro Focus on x86).",
        ),
        click.option(
            "--binary-sizes",
            type=click.Choice(["2-4-8", "1-2-4-8"]),
            default="2-4-8",
            show_default=True,
            help="COMP storage by digits: IBM 2-4-8 or GnuCOBOL 1-2-4-8.",
        ),
        click.option(
            "--odo",
            type=click.Choice(["shift", "fixed"]),
            default="shift",
            show_default=True,
            help="Items after a DEPENDING ON table follow the used occurrences (COBOL) or the maximum.",
        ),
        click.option(
            "--segment-field", help="Field whose value selects the REDEFINES member of each record."
        ),
        click.option(
            "--segment-map",
            multiple=True,
            metavar="VALUE=MEMBER",
            help="Segment value and the REDEFINES member it selects (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def _no_traceback() -> Iterator[None]:
    """File-system problems and anything unforeseen become a one-line error, never a traceback."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, SystemExit):
        raise
    except OSError as exc:
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename}") from None
    except Exception as exc:
        raise click.ClickException(f"unexpected error ({type(exc).__name__}): {exc}") from None


@click.group()
def copybook() -> None:
    """Show copybook layouts and convert mainframe records to and from JSON Lines."""


@copybook.command()
@click.argument(
    "layout_path", metavar="LAYOUT.cpy", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--record", "record_name", help="The 01 record to show when the copybook holds several.")
@click.option("--float-format", type=click.Choice(["ibm", "ieee"]), default="ibm", show_default=True)
@click.option("--native-byte-order", type=click.Choice(["big", "little"]), default="big", show_default=True)
@click.option("--binary-sizes", type=click.Choice(["2-4-8", "1-2-4-8"]), default="2-4-8", show_default=True)
def show(layout_path: Path, record_name: str | None, **layout_opts: Any) -> None:
    """Print the record layout as a table: level, name, picture, usage, offset, length, occurs.

    Offsets are 1-based, as in a compiler listing; lengths are in bytes.
    """
    layout = _layout(layout_path, record_name, layout_opts)
    render_layout(layout)


def _layout(path: Path, record_name: str | None, opts: dict[str, Any]) -> Any:
    from adapters.codecs.copybook.layout import LayoutOptions
    from adapters.codecs.copybook.parser import parse_copybook
    from adapters.codecs.errors import CopybookSyntaxError

    options = LayoutOptions(
        float_format=opts.get("float_format", "ibm"),
        native_byte_order=opts.get("native_byte_order", "big"),
        binary_sizes=opts.get("binary_sizes", "2-4-8"),
    )
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        return parse_copybook(text, options, record=record_name, source=path.name)
    except CopybookSyntaxError as exc:
        raise click.ClickException(f"copybook error: {exc}") from None


def _settings(opts: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Layout, framing and (codepage, segments, odo) from the shared options; bad values -> usage errors."""
    from adapters.codecs.copybook.codepages import get_codepage
    from adapters.codecs.copybook.framing import Framing
    from adapters.codecs.copybook.options import Segments

    layout = _layout(opts["copybook_path"], opts["record_name"], opts)
    try:
        codepage = get_codepage(opts["encoding"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--encoding") from None
    chosen = str(opts["record_format"])
    record_format = cast("RecordFormat", "text" if chosen.lower() == "text" else chosen.upper())
    framing = Framing(
        record_format=record_format,
        record_length=opts["record_length"]
        or (layout.record_length if record_format in ("F", "FB") else None),
        rdw_order=opts["rdw_order"],
        rdw_includes_header=opts["rdw_includes_header"],
    )
    segments = None
    if opts["segment_field"] or opts["segment_map"]:
        if not (opts["segment_field"] and opts["segment_map"]):
            raise click.UsageError("--segment-field and --segment-map go together")
        pairs = [item.split("=", 1) for item in opts["segment_map"]]
        if any(len(pair) != 2 for pair in pairs):
            raise click.BadParameter("expected VALUE=MEMBER", param_hint="--segment-map")
        segments = Segments(opts["segment_field"], {value: member for value, member in pairs})
    return layout, framing, (codepage, segments, opts["odo"])


@copybook.command()
@_copybook_options
@click.option(
    "--on-error",
    type=click.Choice(["reject", "null", "fail"]),
    default="reject",
    show_default=True,
    help="Bad record: skip it, null its bad fields, or stop.",
)
@click.option(
    "--trim",
    type=click.Choice(["right", "both", "none"]),
    default="right",
    show_default=True,
    help="Padding removed from text fields.",
)
@click.option(
    "--skip-header",
    type=click.IntRange(min=0),
    default=0,
    help="Bytes of file header before the first record.",
)
@click.option(
    "--skip-trailer",
    type=click.IntRange(min=0),
    default=0,
    help="Bytes of file trailer after the last record.",
)
@click.option(
    "--trailer-copybook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Copybook of the trailer, to check its record count.",
)
@click.option("--trailer-count-field", help="Trailer field holding the number of records.")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, help="JSON Lines file to write ('-' for stdout).")
def decode(data: Path, output: str, **opts: Any) -> None:
    """Decode DATA records into JSON Lines, one object per record."""
    from adapters.cli._copybook_run import run_decode

    layout, framing, (codepage, segments, odo) = _settings(opts)
    with _no_traceback():
        run_decode(data, output, layout, framing, codepage, segments, odo, opts)


@copybook.command()
@_copybook_options
@click.option(
    "--zoned-sign",
    type=click.Choice(["ebcdic", "ascii"]),
    default="ascii",
    show_default=True,
    help="Overpunch convention of signed zoned fields in ASCII data.",
)
@click.option(
    "--on-error",
    type=click.Choice(["reject", "fail"]),
    default="reject",
    show_default=True,
    help="Bad object: skip it, or stop.",
)
@click.option(
    "--rounding",
    type=click.Choice(["error", "half-even", "half-up"]),
    default="error",
    show_default=True,
    help="Surplus fraction digits: reject, or round.",
)
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, help="Record file to write ('-' for stdout).")
def encode(data: Path, output: str, **opts: Any) -> None:
    """Encode JSON Lines objects (the shape decode writes) into records."""
    from adapters.cli._copybook_run import run_encode

    layout, framing, (codepage, segments, odo) = _settings(opts)
    with _no_traceback():
        run_encode(data, output, layout, framing, codepage, segments, odo, opts)


COMMANDS = [copybook]
