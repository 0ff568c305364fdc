"""``budget prices …``: the price catalog, its sources, conflicts and overrides."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from budget.cli import render as r
from budget.cli.commands.price_show import price_view
from budget.cli.options import Limit, Offset, compact, time_option
from budget.cli.runtime import EXIT_INPUT, EXIT_SERVER, Cli, command
from budget.errors import NotFound

#: A source that delivered nothing in an update (``not_modified`` is a success).
FAILED = frozenset({"error", "unavailable"})

app = typer.Typer(
    help="The price catalog: list, history, conflicts, update, overrides.", no_args_is_help=True
)

ProviderArg = Annotated[str, typer.Option("--provider", help="Provider, e.g. openai.")]
PriceAt = time_option("The price in force at this time; default now", "--at")
ModelArg = Annotated[str, typer.Argument(help="Model id, e.g. gpt-4o.", show_default=False)]
Rate = Annotated[str | None, typer.Option(help="USD per million tokens.")]
KINDS = ("input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning")


def _rate(price: dict[str, Any], kind: str) -> str:
    rate = price["rates"].get(kind)
    if rate is None:
        return ""
    return rate["base"] + (" +tiers" if rate.get("tiers") else "")


COLUMNS: list[r.Column] = [
    ("provider", lambda p: p["provider"]),
    ("model", lambda p: p["model"]),
    ("input", lambda p: _rate(p, "input")),
    ("output", lambda p: _rate(p, "output")),
    ("cached", lambda p: _rate(p, "cached_input")),
    ("cache write", lambda p: _rate(p, "cache_write")),
    ("verification", lambda p: p["verification"]),
    ("source", lambda p: p["source"]),
    ("from", lambda p: r.when(p["effective_from"]) if p["effective_from"] else ""),
    ("to", lambda p: r.when(p["effective_to"]) if p["effective_to"] else ""),
]


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    search: Annotated[str | None, typer.Option(help="A part of the model id.")] = None,
    source: Annotated[str | None, typer.Option(help="Only prices from this source.")] = None,
    verification: Annotated[
        str | None, typer.Option(help="verified, unverified, conflict or override.")
    ] = None,
    overrides: Annotated[bool, typer.Option("--overrides", help="Only manual overrides.")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> None:
    """List prices in effect now (USD per million tokens).

    Example: budget prices list --provider anthropic --search sonnet
    """
    query = compact(
        provider=provider,
        search=search,
        source=source,
        verification=verification,
        overrides=True if overrides else None,
        limit=limit,
        offset=offset,
    )

    def render(page: dict[str, Any]) -> None:
        cli.print(r.table(page["items"], COLUMNS))
        cli.say(r.page_footer(page, "prices"))

    cli.emit(cli.client.list_prices(query), render)


@command(app, "show", reads=True)
def show(
    cli: Cli,
    model: ModelArg,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="Provider, e.g. openai (needed when several price it)."),
    ] = None,
    at: PriceAt = None,
) -> None:
    """The whole price a call to MODEL would be costed with: rates per token kind,
    tiers by input size, time-of-day rules, service tiers, per-request fee,
    dates, source and verification (per field), and the model's facts.

    Example: budget prices show claude-sonnet-4-5 --provider anthropic
    """
    if provider is None:
        provider = _only_provider(cli, model)
    price = cli.client.current_price(compact(provider=provider, model=model, at=at))
    price["facts"] = _facts_or_none(cli, provider, model)
    cli.emit(price, lambda p: cli.print(price_view(p)))


def _facts_or_none(cli: Cli, provider: str, model: str) -> dict[str, Any] | None:
    """The model's facts, or None when no source states any (a price needs none)."""
    try:
        return cli.client.model_facts({"provider": provider, "model": model})
    except NotFound:
        return None


def _only_provider(cli: Cli, model: str) -> str:
    """The one provider whose catalog prices ``model`` (by its exact id)."""
    page = cli.client.list_prices({"model": model, "limit": 20})
    providers = sorted({p["provider"] for p in page["items"]})
    if len(providers) == 1:
        return providers[0]
    found = f"it is priced by {', '.join(providers)}" if providers else "no provider prices it"
    raise cli.fail(f"model={model!r}: give --provider; {found}", EXIT_INPUT, "Provider needed")


@command(app, "history", reads=True)
def history(cli: Cli, model: ModelArg, provider: ProviderArg) -> None:
    """Every price MODEL has had, oldest first.

    Example: budget prices history claude-sonnet-4-5 --provider anthropic
    """
    rows = cli.client.price_history({"provider": provider, "model": model})
    cli.emit(rows, lambda items: cli.print(r.table(items, COLUMNS)))


@command(app, "conflicts", reads=True)
def conflicts(cli: Cli) -> None:
    """Models whose independent sources disagree (the current price was kept).

    Example: budget prices conflicts --json
    """
    columns: list[r.Column] = [
        ("provider", lambda c: c["provider"]),
        ("model", lambda c: c["model"]),
        ("cause", lambda c: c["cause"] or ""),
        ("sources", lambda c: ", ".join(c["sources"])),
        (
            "kinds",
            lambda c: "; ".join(
                f"{k}: " + ", ".join(f"{s}={v}" for s, v in vals.items())
                for k, vals in c["kinds"].items()
            ),
        ),
        ("detected", lambda c: r.when(c["detected_at"])),
    ]
    cli.emit(cli.client.price_conflicts(), lambda items: cli.print(r.table(items, columns)))


@command(app, "sources", reads=True)
def sources(cli: Cli) -> None:
    """The price sources with their trust, interval, last run and last error.

    Example: budget prices sources
    """
    columns: list[r.Column] = [
        ("name", lambda s: s["name"]),
        ("kind", lambda s: s["kind"]),
        ("active", lambda s: "yes" if s["active"] else "no"),
        ("trust", lambda s: s["trust"]),
        ("every", lambda s: f"{s['refresh_interval_seconds'] // 3600}h"),
        ("last run", lambda s: r.when(s["last_run_at"]) if s["last_run_at"] else ""),
        ("status", lambda s: s["last_status"] or ""),
        ("error", lambda s: s["last_error"] or ""),
    ]
    cli.emit(cli.client.price_sources(), lambda items: cli.print(r.table(items, columns)))


@command(app, "update")
def update(
    cli: Cli,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
) -> None:
    """Refresh prices from every active source (or one), with a progress bar per source.

    Example: budget prices update --source genai-prices
    """
    names = [source] if source else [s["name"] for s in cli.client.price_sources() if s["active"]]
    reports = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.console,
        disable=cli.as_json,
        transient=False,
    )
    with progress:
        task = progress.add_task("sources", total=len(names))
        for name in names:
            progress.update(task, description=f"updating {name}")
            reports.append(cli.client.update_prices({"source": name}))
            progress.advance(task)
        progress.update(task, description="done")
    cli.emit(
        reports,
        lambda items: cli.print(
            r.table(
                [src | {"update": rep["update_id"]} for rep in items for src in rep["sources"]],
                [
                    ("source", lambda s: s["source"]),
                    ("status", lambda s: s["status"]),
                    ("records", lambda s: s["records"]),
                    ("added", lambda s: s["added"]),
                    ("changed", lambda s: s["changed"]),
                    ("unchanged", lambda s: s["unchanged"]),
                    ("conflicts", lambda s: s["conflicts"]),
                    ("skipped", lambda s: s["skipped"]),
                    ("error", lambda s: s["error"] or ""),
                ],
            )
        ),
    )
    failed = [s for rep in reports for s in rep["sources"] if s["status"] in FAILED]
    if failed:
        names = ", ".join(f"{s['source']} ({s['status']})" for s in failed)
        total = sum(len(rep["sources"]) for rep in reports)
        raise cli.fail(
            f"{len(failed)} of {total} price sources failed: {names}; "
            "each one's error is in the report",
            EXIT_SERVER,
            "Price sources failed",
            failed=[s["source"] for s in failed],
        )


@command(app, "override")
def override(
    cli: Cli,
    model: ModelArg,
    provider: ProviderArg,
    input: Annotated[str, typer.Option("--input", help="USD per million input tokens.")],
    output: Rate = None,
    cached_input: Rate = None,
    cache_write: Rate = None,
    cache_write_1h: Rate = None,
    reasoning: Rate = None,
    tier_rate: Annotated[
        list[str] | None,
        typer.Option(
            "--tier-rate",
            help="A service tier's rate as TIER.KIND=USD, e.g. batch.input=1.5 (repeatable).",
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why (kept with the price).")] = None,
) -> None:
    """Set a manual price that always wins and that no source overwrites.

    Example: budget prices override my-model --provider acme --input 0.5 --output 1.5
    """
    body = compact(
        provider=provider,
        model=model,
        input=input,
        output=output,
        cached_input=cached_input,
        cache_write=cache_write,
        cache_write_1h=cache_write_1h,
        reasoning=reasoning,
        service_tiers=_tier_rates(cli, tier_rate or []) or None,
        note=note,
    )
    price = cli.client.set_price_override(body)
    cli.emit(price, lambda p: cli.print(r.details(_flat(p), title="override set")))


@command(app, "clear-override")
def clear_override(cli: Cli, model: ModelArg, provider: ProviderArg) -> None:
    """Remove a manual price; the sources' price applies again.

    Example: budget prices clear-override my-model --provider acme
    """
    price = cli.client.clear_price_override({"provider": provider, "model": model})
    cli.emit(price, lambda p: cli.print(r.details(_flat(p), title="price now in force")))


def _tier_rates(cli: Cli, given: list[str]) -> dict[str, dict[str, str]]:
    """``batch.input=1.5`` options as ``{"batch": {"input": "1.5"}}``."""
    tiers: dict[str, dict[str, str]] = {}
    for item in given:
        key, sep, amount = item.partition("=")
        tier, dot, kind = key.partition(".")
        if not (sep and dot and tier and kind and amount):
            raise cli.fail(
                f"--tier-rate={item!r}: write TIER.KIND=USD, e.g. batch.input=1.5",
                EXIT_INPUT,
                "Invalid input",
            )
        tiers.setdefault(tier.strip(), {})[kind.strip()] = amount.strip()
    return tiers


def _flat(price: dict[str, Any]) -> dict[str, Any]:
    skip = ("rates", "time_of_day", "service_tiers")
    out = {k: v for k, v in price.items() if k not in skip}
    for kind in KINDS:
        if kind in price["rates"]:
            out[f"{kind} (USD/M)"] = _rate(price, kind)
    for tier in price.get("service_tiers") or {}:
        out[f"{tier} tier"] = "yes (see `budget prices show`)"
    return out


@command(app, "facts", reads=True)
def facts(cli: Cli, model: ModelArg, provider: ProviderArg) -> None:
    """What the sources state about MODEL: kind, context window, output cap,
    modalities, capabilities and lifecycle (current, deprecated, retired, unknown).

    Example: budget prices facts gpt-4o --provider openai
    """
    found = cli.client.model_facts({"provider": provider, "model": model})

    def render(f: dict[str, Any]) -> None:
        title = f"{f['provider']}/{f['model']}"
        cli.print(r.details({k: v for k, v in f.items() if v not in (None, [], {})}, title=title))

    cli.emit(found, render)
