"""What every command shares: the global options, its client, output and errors.

A command is a plain function whose first parameter is a :class:`Cli`;
:func:`command` registers it on a Typer group, adds the global options
(``--json``, ``--url``, ``--key``, ``--database-url``, ``--timeout``) to its
signature and turns every error into one line on stderr and an exit code:
2 bad input, not found, conflict or a refused key; 3 budget exceeded;
4 the server, network, database or a price source failed; 1 a check found a
difference (``rollups rebuild --check``) or Budget itself failed. With
``--json`` an error is a problem body (the REST API's fields) on stderr.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from budget.cli.errors import RemoteError, ServerUnavailable
from budget.domain import redact
from budget.errors import (
    PROBLEM_TYPE,
    BudgetError,
    BudgetExceeded,
    StorageError,
    ValidationError,
    problem_body,
)

if TYPE_CHECKING:
    from budget.cli.client import Client

EXIT_INPUT, EXIT_DENIED, EXIT_SERVER, EXIT_BUG = 2, 3, 4, 1
#: A check that ran and found a difference (like ``diff``): rollups rebuild --check.
EXIT_MISMATCH = 1
PANEL = "Global options"
DEFAULT_TIMEOUT = 30.0


@dataclass
class Options:
    """The global options, after the command's own override the root's."""

    json: bool = False
    url: str | None = None
    key: str | None = None
    database_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    url_explicit: bool = False
    database_url_explicit: bool = False


def library_logs_to_stderr() -> None:
    """Budget's own log lines in a command: errors only (a command reports its
    outcome itself, e.g. a failed price source in its table), secrets masked."""
    logger = logging.getLogger("budget")
    if any(getattr(h, "budget_cli", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.addFilter(redact.LogFilter())
    handler.budget_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def root_options(ctx: typer.Context, **values: Any) -> Options:
    """The root callback's options, noting which came from the command line."""

    def explicit(name: str) -> bool:
        source = ctx.get_parameter_source(name)
        return source is not None and source.name == "COMMANDLINE"

    return Options(
        json=values["as_json"],
        url=values["url"],
        key=values["key"],
        database_url=values["database_url"],
        timeout=values["timeout"],
        url_explicit=explicit("url"),
        database_url_explicit=explicit("database_url"),
    )


def _merged(root: Options | None, own: dict[str, Any]) -> Options:
    if root is None:
        root = Options(
            url=os.environ.get("BUDGET_URL") or None,
            key=os.environ.get("BUDGET_KEY") or None,
            database_url=os.environ.get("BUDGET_DATABASE_URL") or None,
        )
    url_explicit = own["g_url"] is not None or root.url_explicit
    db_explicit = own["g_database_url"] is not None or root.database_url_explicit
    url = own["g_url"] or root.url
    database_url = own["g_database_url"] or root.database_url
    if url_explicit and db_explicit:
        raise ValidationError(
            "--database-url", database_url, "give --url (a server) or --database-url, not both"
        )
    if db_explicit and not url_explicit:
        url = None  # an explicit local database beats BUDGET_URL
    return Options(
        json=bool(own["g_json"] or root.json),
        url=url,
        key=own["g_key"] or root.key,
        database_url=database_url,
        timeout=own["g_timeout"] or root.timeout,
        url_explicit=url_explicit,
        database_url_explicit=db_explicit,
    )


def console_for(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    width = None if tty or os.environ.get("COLUMNS") else 160
    return Console(file=stream, highlight=False, width=width, stderr=stderr)


class Cli:
    """One command's run: its options, its client (opened on first use), its output."""

    def __init__(self, options: Options, reads: bool = False) -> None:
        self.options = options
        self.reads = reads
        self._client: Client | None = None
        self.console = console_for()

    @property
    def remote(self) -> bool:
        return bool(self.options.url)

    @property
    def client(self) -> Client:
        """The REST API: the server at --url, else the app on the local database."""
        if self._client is None:
            from budget.cli.transport import local_client, network_client

            o = self.options
            self._client = (
                network_client(o.url, o.key, o.timeout)
                if o.url
                else local_client(o.database_url, must_exist=self.reads)
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def as_json(self) -> bool:
        return self.options.json

    def emit(self, data: Any, render: Callable[[Any], None] | None = None) -> None:
        """``--json``: the response body as JSON; otherwise ``render(data)``."""
        if self.as_json:
            if data is not None:
                typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        if render is not None:
            render(data)

    def print(self, *renderables: Any) -> None:
        self.console.print(*renderables)

    def fail(self, message: str, code: int, title: str, **fields: Any) -> typer.Exit:
        """The Exit for a command whose work finished but did not succeed (a
        failed source, a mismatch): one line on stderr, or a problem with --json."""
        problem = None
        if self.as_json:
            problem = {
                "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
                "title": title,
                "status": None,
                "detail": message,
                **fields,
            }
        return fail(message, code, problem)

    def say(self, text: str) -> None:
        """A plain line for people (not shown with ``--json``)."""
        if not self.as_json:
            self.console.print(text, markup=False)


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, BudgetExceeded):
        return EXIT_DENIED
    if isinstance(exc, StorageError | ServerUnavailable):
        return EXIT_SERVER
    if isinstance(exc, RemoteError) and (exc.status or 0) >= 500:
        return EXIT_SERVER
    return EXIT_INPUT


def fail(message: str, code: int, problem: dict[str, Any] | None = None) -> typer.Exit:
    """Print ``error: message`` on one line of stderr (or, with --json, the
    ``problem`` body as JSON); the Exit to raise. Secrets are masked."""
    if problem is not None:
        body = {**problem, "detail": redact.text(str(problem.get("detail", message)))}
        typer.echo(json.dumps(body, default=str, ensure_ascii=True), err=True)
        return typer.Exit(code)
    line = redact.text(" ".join(str(message).split()))
    typer.echo(f"{typer.style('error', fg='red', bold=True)}: {line}", err=True)
    return typer.Exit(code)


def _problem(exc: BaseException, status: int, title: str, as_json: bool) -> dict | None:
    """The problem body for ``--json`` output (None without --json)."""
    if not as_json:
        return None
    if isinstance(exc, BudgetError):
        return problem_body(exc)
    return {
        "type": PROBLEM_TYPE + "internal-error",
        "title": title,
        "status": status,
        "detail": str(exc),
    }


def _global_parameters(remote: bool) -> list[inspect.Parameter]:
    def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )

    database_url = option(
        "g_database_url",
        Annotated[
            str | None,
            typer.Option(
                "--database-url",
                help="Local database URL (or BUDGET_DATABASE_URL; default: SQLite file "
                "in the user data directory).",
                rich_help_panel=PANEL,
                show_default=False,
            ),
        ],
        None,
    )
    if not remote:
        return [database_url]
    return [
        option(
            "g_json",
            Annotated[
                bool,
                typer.Option(
                    "--json", help="Print the API's JSON response body.", rich_help_panel=PANEL
                ),
            ],
            False,
        ),
        option(
            "g_url",
            Annotated[
                str | None,
                typer.Option(
                    "--url",
                    help="Run against the budget server at this URL (or BUDGET_URL).",
                    rich_help_panel=PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        option(
            "g_key",
            Annotated[
                str | None,
                typer.Option(
                    "--key",
                    help="API key for --url (or BUDGET_KEY).",
                    rich_help_panel=PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        database_url,
        option(
            "g_timeout",
            Annotated[
                float | None,
                typer.Option(
                    "--timeout",
                    min=0.1,
                    help="Seconds to wait for the server (default 30).",
                    rich_help_panel=PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
    ]


GLOBAL_NAMES = ("g_json", "g_url", "g_key", "g_database_url", "g_timeout")


def run(func: Callable[..., Any], cli_factory: Callable[[], Cli], as_json: bool = False) -> Any:
    """Call ``func(cli)`` with the error handling every command has."""
    cli: Cli | None = None
    try:
        cli = cli_factory()
        as_json = cli.options.json
        return func(cli)
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except BudgetError as exc:
        raise fail(exc.message, exit_code(exc), _problem(exc, 0, "", as_json)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except Exception as exc:
        if os.environ.get("BUDGET_DEBUG") and not _is_database_error(exc):
            raise
        raise _failure(exc, as_json) from None
    finally:
        if cli is not None:
            with contextlib.suppress(Exception):
                cli.close()


def _is_database_error(exc: BaseException) -> bool:
    """A SQLAlchemy error (SQLAlchemy not loaded yet: it cannot be one)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _failure(exc: Exception, as_json: bool) -> typer.Exit:
    """One line (or a problem body) for an error that is not Budget's own."""
    if _is_database_error(exc):
        from budget.cli.database import short_error

        message = f"database error: {short_error(exc)}"
        problem = _problem(StorageError(message), 503, "Storage unavailable", as_json)
        return fail(message, EXIT_SERVER, problem)
    message = f"unexpected {type(exc).__name__}: {exc} (BUDGET_DEBUG=1 shows the traceback)"
    return fail(message, EXIT_BUG, _problem(exc, 500, "Internal error", as_json))


def command(
    group: typer.Typer, name: str | None = None, *, remote: bool = True, reads: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(cli, ...)`` on ``group`` with the global options and error handling.

    ``remote=False``: a command that only works on a database (``serve``); it
    gets ``--database-url`` alone. ``reads=True``: a command that only reads;
    on an embedded SQLite file that does not exist it says so instead of
    creating an empty database.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func, eval_str=True)
        own = list(signature.parameters.values())[1:]  # without ``cli``

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            ctx: typer.Context | None = kwargs.pop("g_ctx", None)
            given = {n: kwargs.pop(n, None) for n in GLOBAL_NAMES}

            def make() -> Cli:
                root = ctx.find_root().obj if ctx is not None else None
                return Cli(_merged(root if isinstance(root, Options) else None, given), reads)

            root_json = ctx is not None and getattr(ctx.find_root().obj, "json", False)
            as_json = bool(given.get("g_json") or root_json)
            return run(lambda cli: func(cli, **kwargs), make, as_json)

        context = inspect.Parameter(
            "g_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
        )
        params = [*own, *_global_parameters(remote), context]
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__  # Typer must see the new signature, not the function's
        group.command(name)(wrapper)
        return func

    return decorate
