"""``bridgeway audit verify``: check that an audit log is complete and untampered (its hash chain).

Exit codes: 0 when the chain is intact; 1 when it is broken, naming the first bad line (``FILE:LINE: why``);
2 for a usage error (click's convention).
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "audit"]


@click.group()
def audit() -> None:
    """Audit trail tools."""


@audit.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--after",
    metavar="HASH",
    help="Hash of the last event before FILES (when earlier rotated files were archived elsewhere).",
)
@click.option(
    "--head",
    metavar="HASH",
    help="A hash recorded earlier (an 'audit checkpoint' log line) that must still be in the chain.",
)
def verify(files: tuple[Path, ...], after: str | None, head: str | None) -> None:
    """Verify the hash chain of FILES, oldest first.

    Given the live file alone, its rotated predecessors (FILE.1, FILE.2, ...) beside it are checked first.
    """
    from gateway.audit import GENESIS, AuditChainError, log_files, verify_chain

    paths = list(files)
    if len(paths) == 1 and paths[0].exists():
        paths = log_files(paths[0]) if not paths[0].name.rsplit(".", 1)[-1].isdigit() else paths
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise click.UsageError(f"no such audit file: {', '.join(missing)}")
    try:
        summary = verify_chain(paths, after=(after or GENESIS).lower(), head=head.lower() if head else None)
    except AuditChainError as exc:
        click.echo(f"audit chain broken: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"audit chain intact: {summary.events} event(s) in {summary.files} file(s), head {summary.head}"
    )


COMMANDS = [audit]
