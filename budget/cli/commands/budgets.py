"""``budget budgets …``: named containers of policies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import BudgetRef, Limit, Meta, Offset, compact, metadata
from budget.cli.runtime import Cli, command

app = typer.Typer(help="Create, list, change and delete budgets.", no_args_is_help=True)

COLUMNS: list[r.Column] = [
    ("id", lambda b: b["budget_id"]),
    ("name", lambda b: b["name"]),
    ("owner", lambda b: b["owner"]),
    ("active", lambda b: b["active"]),
    ("description", lambda b: b["description"]),
    ("created", lambda b: r.when(b["created_at"])),
]


def show_budget(cli: Cli, item: dict[str, Any]) -> None:
    cli.print(r.details(item, title=f"budget {item['name']}"))


@command(app, "create")
def create(
    cli: Cli,
    name: Annotated[str, typer.Argument(help="Unique name.", show_default=False)],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns it.")] = None,
    active: Annotated[bool, typer.Option("--active/--inactive", help="Enforced or not.")] = True,
    meta: Meta = None,
) -> None:
    """Create a budget (names are unique among live budgets).

    Example: budget budgets create team-alpha --owner platform --meta cost_center=42
    """
    body = compact(
        name=name, description=description, owner=owner, active=active, metadata=metadata(meta)
    )
    cli.emit(cli.client.create_budget(body), lambda b: show_budget(cli, b))


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    owner: Annotated[str | None, typer.Option(help="Only this owner's budgets.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active / inactive ones.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> None:
    """List budgets, oldest first.

    Example: budget budgets list --owner platform --json
    """
    page = cli.client.list_budgets(compact(owner=owner, active=active, limit=limit, offset=offset))

    def render(p: dict[str, Any]) -> None:
        cli.print(r.table(p["items"], COLUMNS))
        cli.say(r.page_footer(p, "budgets"))

    cli.emit(page, render)


@command(app, "show", reads=True)
def show(cli: Cli, budget: BudgetRef) -> None:
    """Show one budget.

    Example: budget budgets show team-alpha
    """
    item = cli.client.get_budget(cli.client.resolve_budget(budget))
    cli.emit(item, lambda b: show_budget(cli, b))


@command(app, "update")
def update(
    cli: Cli,
    budget: BudgetRef,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    owner: Annotated[str | None, typer.Option(help="New owner.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Enforce it or not.")
    ] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", metavar="KEY=VALUE", help="Replace the metadata (repeat)."),
    ] = None,
) -> None:
    """Change a budget's name, description, owner, active flag or metadata.

    Example: budget budgets update team-alpha --owner research --inactive
    """
    body = compact(
        name=name, description=description, owner=owner, active=active, metadata=metadata(meta)
    )
    budget_id = cli.client.resolve_budget(budget)
    cli.emit(cli.client.update_budget(budget_id, body), lambda b: show_budget(cli, b))


@command(app, "delete")
def delete(cli: Cli, budget: BudgetRef) -> None:
    """Delete a budget and its policies (soft: the ledger keeps its usage).

    Example: budget budgets delete team-alpha
    """
    budget_id = cli.client.resolve_budget(budget)
    cli.client.delete_budget(budget_id)
    cli.say(f"deleted budget {budget_id}")


@command(app, "summary", reads=True)
def summary(
    cli: Cli,
    budget: BudgetRef,
    top: Annotated[
        int,
        typer.Option(min=1, max=1000, help="Windows shown per policy with --each (fullest)."),
    ] = 10,
    subject: Annotated[
        list[str] | None,
        typer.Option(
            "--subject", metavar="ATTR=VALUE", help="Only the windows of this value (repeat)."
        ),
    ] = None,
) -> None:
    """Each policy's current window: used, reserved, limit and when it resets.
    A policy with a window per user (--each) shows its fullest windows.

    Example: budget budgets summary team-alpha --top 5 --subject user=alice
    """
    data = cli.client.summary(cli.client.resolve_budget(budget), top, subject)
    cli.emit(data, lambda s: cli.print(r.summary_table(s)))
