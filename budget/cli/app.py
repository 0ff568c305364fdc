"""``budget``: set up the database and see the state of every budget.

A thin face over the engine: every command calls BudgetService.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import budget
from budget.errors import BudgetError

app = typer.Typer(
    help="Token-and-cost budgets for programs that call language models.", no_args_is_help=True
)
console = Console()

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="BUDGET_DATABASE_URL",
        help="Database URL (default: SQLite in the user data directory).",
    ),
]


@app.command()
def init(database_url: UrlOption = None) -> None:
    """Create or migrate the database and load the shipped price catalog.

    Example: budget init --database-url postgresql://postgres@127.0.0.1/budget
    """
    with _open(database_url) as svc:
        url = svc.settings.database_url
        console.print(f"[green]ready[/green]: {url}")


@app.command()
def status(
    database_url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every budget with the current window of each policy.

    Example: budget status --json
    """
    with _open(database_url) as svc:
        summaries = [svc.summary(b.budget_id) for b in svc.list_budgets(limit=1000)]
    if as_json:
        typer.echo(json.dumps([_summary_json(s) for s in summaries], indent=2))
        return
    if not summaries:
        console.print(
            "no budgets yet: create one with the library, e.g. svc.create_budget(name='team-alpha')"
        )
        return
    for item in summaries:
        table = Table(title=f"{item.budget.name} ({item.budget.budget_id})")
        for column in ("policy", "type", "window", "used", "reserved", "limit", "resets at"):
            table.add_column(column)
        for w in item.windows:
            limit = " / ".join(
                x
                for x in (
                    f"{w.token_limit} tok" if w.token_limit is not None else "",
                    f"${w.cost_limit}" if w.cost_limit is not None else "",
                )
                if x
            )
            table.add_row(
                w.policy_name,
                w.policy_type.value,
                w.window,
                f"{w.tokens_used} tok ${w.cost_used}",
                f"{w.tokens_reserved} tok ${w.cost_reserved}",
                limit,
                w.resets_at.isoformat() if w.resets_at else "never",
            )
        console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8013,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
    insecure: Annotated[
        bool,
        typer.Option(help="Serve beyond loopback without API keys (anyone can manage budgets)."),
    ] = False,
    database_url: UrlOption = None,
) -> None:
    """Run the REST service (OpenAPI at /docs) on embedded SQLite or PostgreSQL.

    Example: budget serve --port 8013 --workers 2
    """
    from budget.api.server import check_bind
    from budget.api.server import serve as run_server

    with _open(database_url) as svc:
        settings = svc.settings
        check_bind(host, svc.active_api_keys() > 0, insecure)
    console.print(
        f"serving on http://{host}:{port} (docs at /docs), database {settings.database_url}"
    )
    run_server(host, port, workers, settings)


def _summary_json(item) -> dict:
    def window(w) -> dict:
        return {
            "policy_id": w.policy_id,
            "policy": w.policy_name,
            "type": w.policy_type.value,
            "window": w.window,
            "tokens_used": w.tokens_used,
            "tokens_reserved": w.tokens_reserved,
            "token_limit": w.token_limit,
            "cost_used": str(w.cost_used),
            "cost_reserved": str(w.cost_reserved),
            "cost_limit": None if w.cost_limit is None else str(w.cost_limit),
            "resets_at": w.resets_at.isoformat() if w.resets_at else None,
        }

    return {
        "budget_id": item.budget.budget_id,
        "name": item.budget.name,
        "windows": [window(w) for w in item.windows],
    }


def _open(database_url: str | None):
    try:
        return budget.open(database_url)
    except BudgetError as exc:
        console.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from None


def main() -> None:
    """Entry point of the ``budget`` script."""
    try:
        app()
    except BudgetError as exc:
        console.print(f"[red]error[/red]: {exc}")
        raise SystemExit(2) from None
