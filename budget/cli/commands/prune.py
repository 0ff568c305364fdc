"""``budget prune``: delete what Budget no longer needs (docs/retention.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.root import app as root
from budget.cli.runtime import Cli, command

COLUMNS: list[r.Column] = [
    ("table", lambda row: row["table"]),
    ("rows", lambda row: row["rows"]),
]


@command(root, "prune")
def prune(
    cli: Cli,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="How old a row must be to go: whole hours, days or weeks (12h, 90d, 2w).",
            show_default=False,
        ),
    ],
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="Also delete usage records (never inside a live window; rollups stay).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count the rows per table; delete nothing.")
    ] = False,
) -> None:
    """Delete delivered events, finished webhook deliveries and closed
    allocations older than --older-than; with --ledger, old usage records too.

    Example: budget prune --older-than 90d --dry-run
    """
    body = {"older_than": older_than, "ledger": ledger, "dry_run": dry_run}
    cli.emit(cli.client.prune(body), lambda result: _render(cli, result))


def _render(cli: Cli, result: dict[str, Any]) -> None:
    verb = "would delete" if result["dry_run"] else "deleted"
    rows = [{"table": name, "rows": count} for name, count in result["counts"].items()]
    cli.print(r.table(rows, COLUMNS, title=f"prune: rows {verb}"))
    cli.say(f"{verb} {result['total']} rows older than {result['cut']}")
    if result["ledger_cut"]:
        cli.say(f"usage records before {result['ledger_cut']} (rollups kept)")
