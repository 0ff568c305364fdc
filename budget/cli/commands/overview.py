"""``budget init``, ``budget serve``, ``budget status`` and ``budget cost``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.database import LocalDatabase
from budget.cli.options import ServiceTierOpt, time_option
from budget.cli.root import app as root
from budget.cli.runtime import EXIT_SERVER, Cli, command
from budget.domain import redact


@command(root, "init")
def init(cli: Cli) -> None:
    """Create or migrate the database and load the shipped price catalog.

    With --url, checks that the server is ready and accepts the key instead.

    Example: budget init --database-url postgresql://postgres@127.0.0.1/budget
    """
    result = cli.client.ready()
    cli.emit(result, lambda _: cli.say(f"ready: {cli.client.target}"))


@command(root, "serve", remote=False)
def serve(
    cli: Cli,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8013,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
    insecure: Annotated[
        bool,
        typer.Option(help="Serve beyond loopback without API keys (anyone can manage budgets)."),
    ] = False,
) -> None:
    """Run the REST service (OpenAPI at /docs) and the dashboard (at /) on
    embedded SQLite or PostgreSQL.

    Example: budget serve --port 8013 --workers 2
    """
    from budget.server.bind import check_bind, check_port
    from budget.server.run import serve as run_server

    local = LocalDatabase(cli.options.database_url)
    try:
        settings = local.svc.settings.model_copy(update={"service_insecure": insecure})
        check_bind(host, local.svc.active_api_keys() > 0, insecure)
    finally:
        local.close()
    check_port(host, port)
    database = redact.url(settings.database_url)
    cli.say(f"serving on http://{host}:{port} (docs at /docs), database {database}")
    try:
        run_server(host, port, workers, settings)
    except SystemExit as exc:  # uvicorn's own exit codes would read as Budget's (3: denied)
        if exc.code not in (0, None):
            raise cli.fail(
                f"the server could not start or stopped with an error (uvicorn exit {exc.code}); "
                "its log above says why",
                EXIT_SERVER,
                "Server failed",
            ) from None


def all_budgets(cli: Cli) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = cli.client.list_budgets({"limit": 1000, "offset": len(items)})
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


@command(root, "status", reads=True)
def status(cli: Cli) -> None:
    """Every budget with a bar of each current window's utilisation.

    JSON: a list of budget summaries (GET /api/v1/budgets/{id}/summary).

    Example: budget status --url http://127.0.0.1:8013
    """
    summaries = [cli.client.summary(b["budget_id"]) for b in all_budgets(cli)]

    def render(items: list[dict[str, Any]]) -> None:
        if not items:
            cli.say("no budgets yet: create one with `budget budgets create NAME`")
        for item in items:
            cli.print(r.summary_table(item))

    cli.emit(summaries, render)


TOKENS = "Tokens (input includes cached reads and cache writes)"
PriceAt = time_option("The price at this time; default now", "--at")


@command(root, "cost", reads=True)
def cost(
    cli: Cli,
    model: Annotated[str, typer.Argument(help="Model, e.g. gpt-4o.", show_default=False)],
    provider: Annotated[str, typer.Option(help="Provider, e.g. openai.", show_default=False)],
    input: Annotated[
        int, typer.Option("--input", min=0, help="All input tokens.", rich_help_panel=TOKENS)
    ] = 0,
    output: Annotated[
        int, typer.Option("--output", min=0, help="Output tokens.", rich_help_panel=TOKENS)
    ] = 0,
    cached: Annotated[
        int, typer.Option("--cached", min=0, help="Cache reads.", rich_help_panel=TOKENS)
    ] = 0,
    cache_write: Annotated[
        int, typer.Option("--cache-write", min=0, help="Cache writes.", rich_help_panel=TOKENS)
    ] = 0,
    reasoning: Annotated[
        int, typer.Option("--reasoning", min=0, help="Reasoning tokens.", rich_help_panel=TOKENS)
    ] = 0,
    cache_write_1h: Annotated[
        int,
        typer.Option(
            "--cache-write-1h",
            min=0,
            help="Of the cache writes, 1-hour ones.",
            rich_help_panel=TOKENS,
        ),
    ] = 0,
    service_tier: ServiceTierOpt = None,
    at: PriceAt = None,
) -> None:
    """Estimate what a call would cost at the catalog price.

    Example: budget cost gpt-4o --provider openai --input 1000 --output 500
    """
    body: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "input_tokens": input,
        "output_tokens": output,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
        "cache_write_1h_tokens": cache_write_1h,
    }
    if at is not None:
        body["at"] = at
    if service_tier is not None:
        body["service_tier"] = service_tier

    def render(e: dict[str, Any]) -> None:
        name = f"{e['provider']}/{e['model']}"
        hint = e.get("price_hint")
        if not e["priced"]:
            why = e.get("unpriced_reason") or hint or "no known price"
            cli.say(f"{name}: unpriced ({why}); usage would be recorded as unpriced")
            return
        cli.say(
            f"{name}: {r.usd(e['cost'])} ({e['service_tier']} tier; price from "
            f"{e['price_source']}, {e['price_verification']})"
        )
        if e.get("price_rule") == "fallback" and hint:
            cli.say(hint)
        parts = [(k, r.usd(v)) for k, v in (e["breakdown"] or {}).items()]
        cli.print(r.table([dict(kind=k, cost=v) for k, v in parts], COST_COLUMNS))

    cli.emit(cli.client.estimate(body), render)


COST_COLUMNS: list[r.Column] = [("kind", lambda x: x["kind"]), ("cost", lambda x: x["cost"])]
