"""``budget alerts …``: what a human should know, raised once per cause."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import BudgetFilter, Limit, Offset, Since, compact
from budget.cli.runtime import Cli, command
from budget.domain.enums import AlertKind
from budget.errors import ValidationError

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
        budget_id=cli.client.resolve_budget(budget) if budget else None,
        kind=kind,
        acknowledged=acknowledged,
        since=since,
        limit=limit,
        offset=offset,
    )

    def render(p: dict[str, Any]) -> None:
        cli.print(r.table(p["items"], COLUMNS))
        cli.say(r.page_footer(p, "alerts"))

    cli.emit(cli.client.list_alerts(query), render)


@command(app, "ack")
def ack(
    cli: Cli,
    alerts: Annotated[
        list[str] | None, typer.Argument(help="Alert ids.", show_default=False)
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open alert.")] = False,
    kind: Annotated[AlertKind | None, typer.Option(help="Open alerts of this kind.")] = None,
    budget: BudgetFilter = None,
    before: Annotated[
        str | None, typer.Option(help="Open alerts raised before this ISO time or date.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who acknowledges them (default: your user name).")
    ] = None,
) -> None:
    """Acknowledge alerts: by id, or every open one a filter selects (--all,
    --kind, --budget, --before; together, an alert must pass each). An alert
    keeps its first acknowledgement.

    Example: budget alerts ack --kind allocation_expired --before 2026-12-01
    """
    who = by or _user()
    ids = list(alerts or ())
    filtered = all_ or kind is not None or budget is not None or before is not None
    if not ids and not filtered:
        raise ValidationError(
            "alert", None, "give alert ids, or --all, --kind, --budget or --before"
        )
    if len(ids) == 1 and not filtered:
        result = cli.client.acknowledge_alert(ids[0], {"by": who})
        cli.emit(result, lambda a: cli.print(r.details(a, title=f"alert {a['alert_id']}")))
        return
    body = compact(
        by=who,
        alert_ids=ids or None,
        all=all_ or None,
        kind=kind,
        budget_id=cli.client.resolve_budget(budget) if budget else None,
        before=before,
    )
    result = cli.client.acknowledge_alerts(body)
    cli.emit(result, lambda d: cli.say(_acknowledged(d["acknowledged"])))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "cli"


def _acknowledged(count: int) -> str:
    return f"acknowledged {count} alert{'' if count == 1 else 's'}"
