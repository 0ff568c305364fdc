"""``budget``: the command line, a thin face over the engine or a server.

Layout: ``root.py`` holds the Typer app and its global options, ``runtime.py``
what every command shares (the client, output, errors and exit codes),
``client.py`` the REST API's operations and ``transport.py`` the two ways to
reach it (a server at --url, or the app in process on the local database),
``render.py`` the tables and ``commands/`` one module per group. A command
only builds a request body, calls the client and formats the response body
it gets back.
"""

from __future__ import annotations

from budget.cli.commands import (
    alerts,
    allocations,
    budgets,
    doctor,
    insight,
    keys,
    mcp,
    overview,
    policies,
    prices,
    prune,
    usage,
    webhooks,
)
from budget.cli.commands import usage_export as _usage_export  # noqa: F401 - `usage export`
from budget.cli.commands import usage_import as _usage_import  # noqa: F401 - registers `usage import`
from budget.cli.root import app
from budget.cli.runtime import EXIT_BUG, fail

app.add_typer(budgets.app, name="budgets")
app.add_typer(policies.app, name="policies")
app.add_typer(allocations.app, name="allocations")
app.add_typer(usage.app, name="usage")
app.add_typer(alerts.app, name="alerts")
app.add_typer(keys.app, name="keys")
app.add_typer(prices.app, name="prices")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(insight.rollups, name="rollups")  # report, analyze, forecast, recommend, route: root
# init, serve, status, cost (overview), allocate, check and doctor register on the root app.
ROOT_ORDER = ("init", "serve", "status", "doctor", "allocate", "check", "cost")
app.registered_commands.sort(
    key=lambda c: ROOT_ORDER.index(c.name) if c.name in ROOT_ORDER else len(ROOT_ORDER)
)
_ = overview, mcp, doctor, prune

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``budget`` script."""
    try:
        app()
    except Exception as exc:  # a failure outside any command (commands handle their own)
        fail(f"unexpected {type(exc).__name__}: {exc}", EXIT_BUG)
        raise SystemExit(EXIT_BUG) from None
