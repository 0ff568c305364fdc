"""``budget alerts …``: what a human should know, raised once per cause."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import BudgetFilter, Limit, Offset, Since, compact
from budget.cli.runtime import Cli, command
from budget.domain.enums import AlertKind

app = typer.Typer(help="List and acknowledge alerts.", no_args_is_help=True)

COLUMNS: list[r.Column] = [
    ("id", lambda a: a["alert_id"]),
    ("when", lambda a: r.when(a["created_at"])),
    ("kind", lambda a: a["kind"]),
    ("severity", lambda a: a["severity"]),
    ("message", lambda a: a["message"]),
    ("acknowledged", lambda a: a["acknowledged_by"] or ""),
]


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    budget: BudgetFilter = None,
    kind: Annotated[AlertKind | None, typer.Option(help="Only this kind.")] = None,
    acknowledged: Annotated[
        bool | None,
        typer.Option("--acknowledged/--unacknowledged", help="Only acknowledged / open ones."),
    ] = None,
    since: Since = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> None:
    """List alerts, newest first.

    Example: budget alerts list --unacknowledged --kind limit_reached
    """
    query = compact(
        budget_id=cli.backend.resolve_budget(budget) if budget else None,
        kind=kind,
        acknowledged=acknowledged,
        since=since,
        limit=limit,
        offset=offset,
    )

    def render(p: dict[str, Any]) -> None:
        cli.print(r.table(p["items"], COLUMNS))
        cli.say(r.page_footer(p, "alerts"))

    cli.emit(cli.backend.list_alerts(query), render)


@command(app, "ack")
def ack(
    cli: Cli,
    alert: Annotated[str, typer.Argument(help="Alert id.", show_default=False)],
    by: Annotated[
        str | None, typer.Option(help="Who acknowledges it (default: your user name).")
    ] = None,
) -> None:
    """Acknowledge an alert (acknowledging twice keeps the first).

    Example: budget alerts ack alr_0123456789abcdef01234567 --by alice
    """
    result = cli.backend.acknowledge_alert(alert, {"by": by or _user()})
    cli.emit(result, lambda a: cli.print(r.details(a, title=f"alert {a['alert_id']}")))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "cli"
