"""``budget report``, ``analyze``, ``forecast``, ``recommend``, ``route`` and
``budget rollups rebuild``: where the money goes and how to spend less."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from budget.cli import render as r
from budget.cli.commands import insight_render as show
from budget.cli.options import (
    ApiKeyAttr,
    BudgetFilter,
    Component,
    Model,
    Project,
    Provider,
    Tags,
    TaskType,
    TierOpt,
    User,
    compact,
    priority,
    scope,
    time_option,
)
from budget.cli.root import app as root
from budget.cli.runtime import EXIT_DENIED, EXIT_MISMATCH, Cli, command
from budget.domain import when
from budget.domain.enums import Tier

rollups = typer.Typer(help="The report rollups: rebuild and check them.", no_args_is_help=True)

GROUPS = "budget, policy, component, project, user, api_key, provider, model, tier, task_type, tag"
DEFAULT_DAYS = 30

Since = time_option("From this time on; a date is midnight in --timezone; default 30 days ago")
Until = time_option("Before this time; default now")
Zone = Annotated[str, typer.Option("--timezone", help="IANA timezone of buckets and dates.")]
GroupBy = Annotated[
    list[str] | None,
    typer.Option("--group-by", "-g", help=f"Group by (repeat): {GROUPS}.", show_default=False),
]
Bucket = Annotated[str | None, typer.Option(help="hour, day, week or month.")]
Capability = Annotated[
    list[str] | None,
    typer.Option("--capability", help="Required: tools, vision, reasoning, json_schema, ..."),
]
MinContext = Annotated[
    int | None, typer.Option("--min-context", min=1, help="Minimum context window (tokens).")
]
SameProvider = Annotated[
    bool, typer.Option("--same-provider", help="Only models of the same provider.")
]
MaxTier = Annotated[Tier | None, typer.Option(help="Highest tier a model may have.")]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        help="Also consider: deprecated, retired, unknown, base, fine_tuned (repeat).",
    ),
]


def _default_since(zone: str) -> str:
    """Midnight in ``zone`` of the day ``DEFAULT_DAYS`` days ago."""
    tz = when.zone_of("--timezone", zone)
    day = datetime.now(UTC).astimezone(tz).date() - timedelta(days=DEFAULT_DAYS)
    return when.midnight(day, tz).isoformat()


def _range(cli: Cli, since: str | None, until: str | None, zone: str) -> dict[str, str]:
    """The time range as given (the engine reads dates and ``yesterday`` in ``zone``)."""
    return {
        "since": since or _default_since(zone),
        "until": until or cli.client.clock().isoformat(),
    }


@command(root, "report", reads=True)
def report(
    cli: Cli,
    group_by: GroupBy = None,
    bucket: Bucket = None,
    since: Since = None,
    until: Until = None,
    timezone: Zone = "UTC",
    top: Annotated[int | None, typer.Option(min=1, max=1000, help="Keep the N biggest.")] = None,
    budget: BudgetFilter = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    tier: TierOpt = None,
    task_type: TaskType = None,
    tag: Tags = None,
    corrections: Annotated[
        str,
        typer.Option(
            help="Voids and adjustments: include (the ledger as it stands), exclude "
            "(as originally recorded) or only."
        ),
    ] = "include",
    csv: Annotated[bool, typer.Option("--csv", help="Print (or write) CSV.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV or JSON to this file.")
    ] = None,
) -> None:
    """Spend and tokens grouped and bucketed, from the rollups (unpriced usage apart).

    Example: budget report -g model --bucket day --since 2026-11-01 --timezone Europe/Berlin
    """
    query = compact(
        **_range(cli, since, until, timezone),
        group_by=list(group_by) if group_by else None,
        bucket=bucket,
        timezone=timezone,
        top=top,
        budget_id=cli.client.resolve_budget(budget) if budget else None,
        **scope(component, project, user, api_key, provider, model, tier, task_type),
        tag=list(tag) if tag else None,
        corrections=None if corrections == "include" else corrections,
    )
    if csv:
        _export(cli, cli.client.usage_report_csv(query), output)
        return
    body = cli.client.usage_report(query)
    if output is not None:
        import json

        _export(cli, json.dumps(body, indent=2, ensure_ascii=False) + "\n", output)
        return
    cli.emit(body, lambda rep: show.report(cli, rep))


def _export(cli: Cli, text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    cli.console.print(f"wrote {output}", markup=False, style="dim")


@command(root, "analyze", reads=True)
def analyze(
    cli: Cli,
    by: Annotated[str, typer.Option(help=f"Group by one of: {GROUPS}.")] = "model",
    since: Since = None,
    until: Until = None,
    timezone: Zone = "UTC",
) -> None:
    """Trend (rising, flat, falling) and spikes per model, component, ... with their numbers.

    Example: budget analyze --by component --since 2026-11-01
    """
    query = {**_range(cli, since, until, timezone), "by": by, "timezone": timezone}
    cli.emit(cli.client.analyze(query), lambda items: show.findings(cli, items))


@command(root, "forecast", reads=True)
def forecast(cli: Cli, budget: BudgetFilter = None) -> None:
    """Spend so far, burn rate and projected total of every current window.

    Raises a forecast_exceeds alert (once per window) when a projection passes a limit.

    Example: budget forecast --budget team-alpha
    """
    query = compact(budget_id=cli.client.resolve_budget(budget) if budget else None)
    cli.emit(cli.client.forecast(query), lambda items: show.forecasts(cli, items))


@command(root, "recommend", reads=True)
def recommend(
    cli: Cli,
    model: Annotated[str, typer.Argument(help="The model used now.", show_default=False)],
    provider: Provider = None,
    task_type: TaskType = None,
    min_context: MinContext = None,
    same_provider: SameProvider = False,
    capability: Capability = None,
    max_tier: MaxTier = None,
    budget: BudgetFilter = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many.")] = 5,
    include: Include = None,
) -> None:
    """Cheaper models that qualify, with the saving on your own recent token mix.

    Example: budget recommend gpt-4o --provider openai --capability tools --capability vision
    """
    query = compact(
        model=model,
        provider=provider,
        task_type=task_type,
        min_context_window=min_context,
        same_provider=True if same_provider else None,
        capability=list(capability) if capability else None,
        max_tier=max_tier,
        budget_id=cli.client.resolve_budget(budget) if budget else None,
        limit=limit,
        include=list(include) if include else None,
    )
    cli.emit(cli.client.recommend(query), lambda items: show.recommendations(cli, items))


@command(root, "route", reads=True)
def route(
    cli: Cli,
    model: Annotated[str, typer.Argument(help="The preferred model.", show_default=False)],
    provider: Provider = None,
    input: Annotated[int, typer.Option("--input", min=0, help="Expected input tokens.")] = 0,
    max_output: Annotated[
        int, typer.Option("--max-output", min=0, help="Most output tokens expected.")
    ] = 0,
    priority_: Annotated[
        str | None, typer.Option("--priority", help="low, normal, high, critical or 1-10.")
    ] = None,
    task_type: TaskType = None,
    min_context: MinContext = None,
    same_provider: SameProvider = False,
    capability: Capability = None,
    max_tier: MaxTier = None,
    include: Include = None,
    tier: TierOpt = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    tag: Tags = None,
) -> None:
    """Which model to use now: the preferred one, a cheaper one that fits, the local one.

    Reserves nothing. Exits 3 when nothing fits (with when the budget returns).

    Example: budget route gpt-4o --provider openai --input 2000 --max-output 800 --user ana
    """
    body = compact(
        preferred_model=model,
        provider=provider,
        input_tokens=input,
        max_output_tokens=max_output,
        priority=priority(priority_),
        min_context_window=min_context,
        same_provider=True if same_provider else None,
        capabilities=list(capability) if capability else None,
        max_tier=max_tier,
        include=list(include) if include else None,
        **scope(component, project, user, api_key, None, None, tier, task_type, tag),
    )
    decision = cli.client.route(body)
    cli.emit(decision, lambda d: show.decision(cli, d))
    if not decision["allowed"]:
        raise typer.Exit(EXIT_DENIED)


@command(rollups, "rebuild")
def rebuild(
    cli: Cli,
    check: Annotated[bool, typer.Option("--check", help="Only compare; repair nothing.")] = False,
) -> None:
    """Recompute the report rollups from the ledger and say whether they agreed.

    Example: budget rollups rebuild --check
    """
    result = cli.client.rebuild_rollups({"check_only": check})
    cli.emit(result, lambda x: cli.print(r.details(x, title="rollups")))
    if check and not result["agreed"]:
        raise cli.fail(
            "the rollups disagree with the ledger; `budget rollups rebuild` repairs them",
            EXIT_MISMATCH,
            "Rollups disagree",
        )
