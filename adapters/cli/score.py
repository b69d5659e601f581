"""``bridgeway score``: score one file, once, and write the result file (DESIGN.md "Adapters").

The same readers, scoring core and writers as a files pipeline, without folders or a ledger: the result is
written under a temporary name next to OUTPUT and renamed when complete; rejected records go to
``<OUTPUT stem>.rejects.<ext>``. On a terminal a progress bar shows how much of the input is done; at the end
one line sums up (records scored and rejected, model version, seconds, records per second).

Exit status: 0 when the file was scored (rejected records included, under ``--on-bad-record reject``); 1 when
it could not be (unreadable input, a model error, a bad record under ``--on-bad-record fail``); 2 for a
usage error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from adapters.cli._score_options import OptionError, ScoreOptions, score_options

__all__ = ["COMMANDS", "score"]


@click.command()
@score_options
def score(**options: Any) -> None:
    """Score INPUT with a model and write the results to OUTPUT."""
    try:
        settings = ScoreOptions.from_cli(options)
    except OptionError as exc:
        raise click.UsageError(str(exc)) from exc
    from adapters.cli._score_run import ScoreFailed, run_score
    from gateway.logs import configure_logging

    configure_logging("WARNING")  # JSON lines on stderr; the summary goes to stdout

    try:
        summary = run_score(settings, show_progress=_show_progress(options["progress"]), environ=os.environ)
    except ScoreFailed as exc:
        click.echo(f"bridgeway score: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(summary.line())


def _show_progress(choice: bool | None) -> bool:
    return sys.stderr.isatty() if choice is None else choice


COMMANDS = [score]
