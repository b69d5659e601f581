"""The streaming loops behind ``bridgeway copybook decode`` and ``encode``: records in, records out.

Wiring only: the codec does the work; this module opens the files, applies the error policy to the
stream and reports rejects on stderr.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import click

from adapters.codecs import jsonl
from adapters.codecs.copybook.codepages import Codepage
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.framing import Framing, RecordWriter
from adapters.codecs.copybook.layout import Layout
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions, OdoLayout, Segments
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.copybook.stream import DecodedRecord, TrailerCheck, decode_stream
from adapters.codecs.errors import CodecError, CopybookSyntaxError, RecordEncodeError

__all__ = ["run_decode", "run_encode"]

_MAX_REPORTED = 20  # reject lines printed before the rest are only counted


@contextmanager
def output_file(path: str, binary: bool) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    if path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        if binary:
            with os.fdopen(fd, "wb") as sink:
                yield sink
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as text_sink:
                yield text_sink
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Report:
    """Counts records and prints reject lines (the first few) to stderr."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.ok = 0
        self.bad = 0

    def reject(self, message: str) -> None:
        self.bad += 1
        if self.bad <= _MAX_REPORTED:
            click.echo(f"rejected: {message}", err=True)

    def finish(self) -> None:
        more = f" ({self.bad - _MAX_REPORTED} not listed)" if self.bad > _MAX_REPORTED else ""
        click.echo(f"{self.verb} {self.ok} records, rejected {self.bad}{more}", err=True)
        if self.bad:
            sys.exit(1)


def _trailer(opts: dict[str, Any], layout: Layout) -> TrailerCheck | None:
    path, field = opts.get("trailer_copybook"), opts.get("trailer_count_field")
    if not path and not field:
        return None
    if not field:
        raise click.UsageError("--trailer-count-field names the count field of the trailer")
    trailer_layout = layout
    if path:
        try:
            trailer_layout = parse_copybook(
                Path(path).read_text(encoding="utf-8", errors="replace"), layout.options
            )
        except CopybookSyntaxError as exc:
            raise click.ClickException(f"trailer copybook error: {exc}") from None
    try:
        trailer_layout.field(field)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--trailer-count-field") from None
    return TrailerCheck(trailer_layout, field)


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from None


def run_decode(
    data: Path,
    output: str,
    layout: Layout,
    framing: Framing,
    codepage: Codepage,
    segments: Segments | None,
    odo: OdoLayout,
    opts: dict[str, Any],
) -> None:
    """Decode ``data`` into JSON Lines at ``output``; exits 1 when records were rejected or input failed."""
    from dataclasses import replace

    framing = replace(framing, skip_header=opts["skip_header"], skip_trailer=opts["skip_trailer"])
    options = DecodeOptions(
        codepage=codepage, trim=opts["trim"], on_error=opts["on_error"], odo=odo, segments=segments
    )
    try:
        decoder = RecordDecoder(layout, options)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--segment-map") from None
    report = Report("decoded")
    trailer = _trailer(opts, layout)
    try:
        with data.open("rb") as source, output_file(output, binary=False) as sink:
            for item in decode_stream(source, decoder, framing, trailer=trailer):
                if isinstance(item, DecodedRecord):
                    sink.write(jsonl.dumps(item.values) + "\n")
                    report.ok += 1
                    for error in item.errors:
                        click.echo(f"nulled: {error}", err=True)
                else:
                    report.reject(f"{item.error} (input offset {item.offset})")
    except CodecError as exc:
        _fail(exc)
    report.finish()


def run_encode(
    data: Path,
    output: str,
    layout: Layout,
    framing: Framing,
    codepage: Codepage,
    segments: Segments | None,
    odo: OdoLayout,
    opts: dict[str, Any],
) -> None:
    """Encode the JSON Lines in ``data`` into records at ``output``."""
    options = EncodeOptions(
        codepage=codepage,
        zoned_sign=opts["zoned_sign"],
        rounding=opts["rounding"],
        odo=odo,
        segments=segments,
    )
    try:
        encoder = RecordEncoder(layout, options)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--segment-map") from None
    report = Report("encoded")
    try:
        with data.open("rb") as source, output_file(output, binary=True) as sink:
            writer = RecordWriter(cast(BinaryIO, sink), framing, pad=codepage.encode(" "))
            for number, value in jsonl.read_records(source):
                try:
                    record = encoder.encode(value, number)
                    writer.write(record)
                    report.ok += 1
                except (RecordEncodeError, ValueError) as exc:
                    if opts["on_error"] == "fail":
                        raise
                    report.reject(
                        str(exc) if isinstance(exc, RecordEncodeError) else f"record {number}: {exc}"
                    )
            writer.close()
    except (CodecError, ValueError) as exc:
        _fail(exc)
    report.finish()
