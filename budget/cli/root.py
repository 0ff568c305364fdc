"""The root ``budget`` Typer app and its callback (the global options).

Every global option is accepted here (``budget --json budgets list``) and on
each command (``budget budgets list --json``); the command's own wins.
"""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli.runtime import DEFAULT_TIMEOUT, PANEL, library_logs_to_stderr, root_options
from budget.cli.version import print_version

app = typer.Typer(
    help="Token-and-cost budgets for programs that call language models.\n\n"
    "Every command works on the local database (default; --database-url) or, with "
    "--url and --key, against a running server, with the same output; --json prints "
    "the API's response body. Exit codes: 2 bad input, not found or conflict; "
    "3 budget exceeded; 4 server, network or database failure.\n\n"
    "Example: budget --url http://127.0.0.1:8013 --key $BUDGET_KEY status",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the API's JSON response body.", rich_help_panel=PANEL),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="BUDGET_URL",
            help="Run against the budget server at this URL.",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="BUDGET_KEY",
            help="API key for --url.",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="BUDGET_DATABASE_URL",
            help="Local database URL (default: SQLite in the user data directory).",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            envvar="BUDGET_TIMEOUT",
            min=0.1,
            help="Seconds to wait for the server.",
            rich_help_panel=PANEL,
        ),
    ] = DEFAULT_TIMEOUT,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=print_version,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """Store the global options for the command that follows."""
    library_logs_to_stderr()
    ctx.obj = root_options(
        ctx, as_json=as_json, url=url, key=key, database_url=database_url, timeout=timeout
    )
