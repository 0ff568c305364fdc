"""``budget usage …``: the append-only ledger."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import (
    ApiKeyAttr,
    BudgetFilter,
    Component,
    Corrects,
    EntryKind,
    Limit,
    Meta,
    Model,
    Offset,
    Priced,
    Project,
    Provider,
    ServiceTierOpt,
    Since,
    Tags,
    TaskType,
    TierOpt,
    Until,
    User,
    compact,
    metadata,
    scope,
    time_option,
)
from budget.cli.runtime import Cli, command

app = typer.Typer(help="Record, list and import usage; see totals.", no_args_is_help=True)

TOKENS = "Tokens (input includes cached reads and cache writes)"


def _tokens(help_: str, name: str) -> Any:
    return Annotated[int, typer.Option(name, min=0, help=help_, rich_help_panel=TOKENS)]


Input = _tokens("All input tokens.", "--input")
Output = _tokens("Output tokens (reasoning included).", "--output")
Cached = _tokens("Input tokens read from the cache.", "--cached")
CacheWrite = _tokens("Input tokens written to the cache.", "--cache-write")
CacheWrite1h = _tokens("Of the cache writes, those to a 1-hour cache.", "--cache-write-1h")
Reasoning = _tokens("Reasoning tokens (part of output).", "--reasoning")
Context = Annotated[str | None, typer.Option("--context", help="Only this context id.")]
At = time_option("When it happened; default now", "--at")
Allocation = Annotated[
    str | None, typer.Option("--allocation", help="Only usage drawn from this allocation.")
]

COLUMNS: list[r.Column] = [
    ("id", lambda u: u["usage_id"]),
    ("when", lambda u: r.when(u["occurred_at"])),
    ("model", lambda u: f"{u['attributes']['provider']}/{u['attributes']['model']}"),
    ("input", lambda u: f"{u['input_tokens']:,}"),
    ("output", lambda u: f"{u['output_tokens']:,}"),
    ("cost", lambda u: r.usd(u["cost"]) if u["priced"] else "unpriced"),
    ("tier", lambda u: u.get("service_tier") or "standard"),
    ("request", lambda u: u["request_id"]),
    ("context", lambda u: u["context_id"]),
    ("kind", lambda u: _kind(u)),
]
Reason = Annotated[
    str, typer.Option("--reason", help="Why the record is corrected (kept with the entry).")
]
CorrectionId = Annotated[
    str | None,
    typer.Option(help="Idempotency key of the correction: the same id twice corrects once."),
]


def _kind(u: dict[str, Any]) -> str:
    kind = u.get("kind") or "usage"
    return kind if kind == "usage" else f"{kind} of {u['corrects_id']}"


def show_usage(cli: Cli, u: dict[str, Any]) -> None:
    cli.print(r.details(u, title=f"usage {u['usage_id']}"))


def usage_filters(cli: Cli, o: dict[str, Any]) -> dict[str, Any]:
    """The query of GET /usage and /usage/totals from the command's options, by name."""
    return compact(
        since=o["since"],
        until=o["until"],
        budget_id=cli.client.resolve_budget(o["budget"]) if o["budget"] else None,
        component=o["component"],
        project=o["project"],
        user=o["user"],
        api_key=o["api_key"],
        provider=o["provider"],
        model=o["model"],
        context_id=o["context"],
        allocation_id=o["allocation"],
        task_type=o["task_type"],
    )


@command(app, "record")
def record(
    cli: Cli,
    provider: Provider = None,
    model: Model = None,
    input: Input = 0,
    output: Output = 0,
    cached: Cached = 0,
    cache_write: CacheWrite = 0,
    cache_write_1h: CacheWrite1h = 0,
    reasoning: Reasoning = 0,
    service_tier: ServiceTierOpt = None,
    allocation: Annotated[
        str | None, typer.Option("--allocation", help="The allocation it drew from.")
    ] = None,
    release: Annotated[
        bool,
        typer.Option(
            "--release", help="Release the allocation in the same transaction (with --allocation)."
        ),
    ] = False,
    request_id: Annotated[
        str | None, typer.Option(help="Idempotency key: the same id twice counts once.")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Context id.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Session id.")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task id.")] = None,
    latency_ms: Annotated[int | None, typer.Option(min=0, help="Call latency.")] = None,
    at: At = None,
    tier: TierOpt = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    task_type: TaskType = None,
    tag: Tags = None,
    meta: Meta = None,
) -> None:
    """Record what one call used (provider and model, or an allocation that names them).

    Example: budget usage record --provider openai --model gpt-4o --input 1200 --output 640 --request-id req-1
    """  # noqa: E501
    body = {
        **compact(
            input_tokens=input,
            output_tokens=output,
            cached_input_tokens=cached,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=cache_write_1h or None,
            reasoning_tokens=reasoning,
            service_tier=service_tier,
            allocation_id=allocation,
            request_id=request_id,
            context_id=context,
            session_id=session,
            task_id=task,
            latency_ms=latency_ms,
            occurred_at=at,
            metadata=metadata(meta),
        ),
        **scope(component, project, user, api_key, provider, model, tier, task_type, tag),
    }
    if release:
        body["release"] = True
    cli.emit(cli.client.record_usage(body), lambda u: show_usage(cli, u))


@command(app, "void")
def void(
    cli: Cli,
    usage: Annotated[str, typer.Argument(help="Usage id.", show_default=False)],
    reason: Reason,
    request_id: CorrectionId = None,
) -> None:
    """Cancel a usage record with a compensating entry (the record stays); admin.

    Its tokens, cost and request come off every window, rollup and report.
    Example: budget usage void use_0123456789abcdef01234567 --reason "billed twice"
    """
    body = compact(reason=reason, request_id=request_id)
    cli.emit(cli.client.void_usage(usage, body), lambda u: show_usage(cli, u))


def _new_count(name: str, help_: str) -> Any:
    return Annotated[int | None, typer.Option(name, min=0, help=help_, rich_help_panel=TOKENS)]


NewInput = _new_count("--input", "The new count of all input tokens.")
NewOutput = _new_count("--output", "The new count of output tokens.")
NewCached = _new_count("--cached", "The new count of cache reads.")
NewCacheWrite = _new_count("--cache-write", "The new count of cache writes.")
NewReasoning = _new_count("--reasoning", "The new count of reasoning tokens.")


@command(app, "adjust")
def adjust(
    cli: Cli,
    usage: Annotated[str, typer.Argument(help="Usage id.", show_default=False)],
    reason: Reason,
    cost: Annotated[str | None, typer.Option(help="The new cost in USD (a priced record).")] = None,
    input: NewInput = None,
    output: NewOutput = None,
    cached: NewCached = None,
    cache_write: NewCacheWrite = None,
    reasoning: NewReasoning = None,
    request_id: CorrectionId = None,
) -> None:
    """Set what a usage record should say (cost and/or tokens); admin.

    A compensating entry holds the difference from what stands now.
    Example: budget usage adjust use_0123456789abcdef01234567 --cost 0.25 --reason "invoice"
    """
    body = compact(
        reason=reason,
        request_id=request_id,
        cost=cost,
        input_tokens=input,
        output_tokens=output,
        cached_input_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )
    cli.emit(cli.client.adjust_usage(usage, body), lambda u: show_usage(cli, u))


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    since: Since = None,
    until: Until = None,
    budget: BudgetFilter = None,
    priced: Priced = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    context: Context = None,
    allocation: Allocation = None,
    task_type: TaskType = None,
    kind: EntryKind = None,
    corrects: Corrects = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> None:
    """List ledger entries, newest first (corrections too, with what they correct).

    Example: budget usage list --since 2026-11-01 --provider openai --budget team-alpha
    """
    query = {
        **usage_filters(cli, locals()),
        **compact(priced=priced, kind=kind, corrects_id=corrects, limit=limit, offset=offset),
    }

    def render(p: dict[str, Any]) -> None:
        cli.print(r.table(p["items"], COLUMNS))
        cli.say(r.page_footer(p, "usage records"))

    cli.emit(cli.client.list_usage(query), render)


@command(app, "show", reads=True)
def show(
    cli: Cli, usage: Annotated[str, typer.Argument(help="Usage id.", show_default=False)]
) -> None:
    """Show one usage record with its cost breakdown.

    Example: budget usage show use_0123456789abcdef01234567
    """
    cli.emit(cli.client.get_usage(usage), lambda u: show_usage(cli, u))


@command(app, "totals", reads=True)
def totals(
    cli: Cli,
    since: Since = None,
    until: Until = None,
    budget: BudgetFilter = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    context: Context = None,
    allocation: Allocation = None,
    task_type: TaskType = None,
) -> None:
    """Records, tokens, cost and unpriced records over the matching ledger.

    Example: budget usage totals --since 2026-11-01 --project apollo
    """
    query = usage_filters(cli, locals())

    def render(t: dict[str, Any]) -> None:
        unpriced = f" ({t['unpriced_records']} unpriced)" if t["unpriced_records"] else ""
        cli.say(f"{t['records']:,} records{unpriced}, {t['tokens']:,} tokens, {r.usd(t['cost'])}")

    cli.emit(cli.client.usage_totals(query), render)
