"""``budget keys …``: API keys of the REST service."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import compact
from budget.cli.runtime import Cli, command

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

COLUMNS: list[r.Column] = [
    ("id", lambda k: k["key_id"]),
    ("name", lambda k: k["name"]),
    ("role", lambda k: k["role"]),
    ("bound to", lambda k: _binding(k)),
    ("prefix", lambda k: k["prefix"]),
    ("created", lambda k: r.when(k["created_at"])),
    ("last used", lambda k: r.when(k["last_used_at"])),
    ("revoked", lambda k: r.when(k["revoked_at"])),
]


@command(app, "create")
def create(
    cli: Cli,
    name: Annotated[str, typer.Argument(help="Unique name of the key.", show_default=False)],
    role: Annotated[
        str, typer.Option(help="admin (manage budgets, policies, keys) or client.")
    ] = "client",
    user: Annotated[
        str | None, typer.Option(help="Client key: the user its requests are made as.")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Client key: its project.")] = None,
    component: Annotated[str | None, typer.Option(help="Client key: its component.")] = None,
    budget: Annotated[
        list[str] | None,
        typer.Option("--budget", help="Client key: a budget it sees (repeat; default all)."),
    ] = None,
) -> None:
    """Create an API key; its secret is shown this once (only a hash is stored).

    Once a key exists, a server asks every request for one. A client key's
    requests carry its name as api_key and the user, project and component it
    is bound to; a request claiming others is refused (403).

    Example: budget keys create alice-app --role client --user alice --budget team-alpha
    """

    def render(k: dict[str, Any]) -> None:
        cli.print(r.details(k, title=f"key {k['name']}", skip=("secret",)))
        cli.say(f"secret (shown once): {k['secret']}")

    body = compact(
        name=name, role=role, user=user, project=project, component=component, budgets=budget
    )
    cli.emit(cli.client.create_key(body), render)


def _binding(key: dict[str, Any]) -> str:
    parts = [f"{n}={key[n]}" for n in ("user", "project", "component") if key.get(n)]
    if key.get("budget_ids"):
        parts.append("budgets " + ", ".join(key["budget_ids"]))
    return "; ".join(parts)


@command(app, "list", reads=True)
def list_(cli: Cli) -> None:
    """List API keys (never their secrets).

    Example: budget keys list --json
    """
    cli.emit(cli.client.list_keys(), lambda keys: cli.print(r.table(keys, COLUMNS)))


@command(app, "revoke")
def revoke(
    cli: Cli, key: Annotated[str, typer.Argument(help="Key id.", show_default=False)]
) -> None:
    """Stop accepting a key (revoking twice keeps the first time).

    Example: budget keys revoke key_0123456789abcdef01234567
    """
    result = cli.client.revoke_key(key)
    cli.emit(result, lambda k: cli.print(r.details(k, title=f"key {k['name']} revoked")))
