"""``budget policies …``: limits on the requests a scope covers, per period."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import (
    ApiKeyAttr,
    BudgetRef,
    Component,
    Model,
    Project,
    Provider,
    Tags,
    TaskType,
    TierOpt,
    User,
    compact,
    scope,
    time_option,
)
from budget.cli.runtime import Cli, command
from budget.domain.enums import Period, PolicyType
from budget.errors import ValidationError

app = typer.Typer(help="Add, list, change, disable and delete policies.", no_args_is_help=True)

PolicyRef = Annotated[str, typer.Argument(help="Policy id.", show_default=False)]
LIMITS = "Limits"
TokenLimit = Annotated[
    int | None, typer.Option(min=1, help="Tokens per window.", rich_help_panel=LIMITS)
]
RequestLimit = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Requests per window (with --period minute: per minute).",
        rich_help_panel=LIMITS,
    ),
]
CostLimit = Annotated[
    str | None, typer.Option(help="USD per window, e.g. 5 or 0.50.", rich_help_panel=LIMITS)
]
Warn = Annotated[
    list[str] | None,
    typer.Option(
        "--warn", help="Warning threshold as a share, e.g. 0.8 (repeat).", rich_help_panel=LIMITS
    ),
]
Action = Annotated[
    str | None,
    typer.Option(
        help="Share at which the action alert fires (default 0.95).", rich_help_panel=LIMITS
    ),
]
Headroom = Annotated[
    str | None,
    typer.Option(help="Share of a hard limit kept for critical requests.", rich_help_panel=LIMITS),
]
Timezone = Annotated[str | None, typer.Option(help="IANA zone of the windows (default UTC).")]
StartsAt = time_option("In force from this time", "--starts-at")
EndsAt = time_option("In force until this time", "--ends-at")
Each = Annotated[
    list[str] | None,
    typer.Option(
        "--each",
        metavar="ATTRIBUTE",
        help="Keep a window per distinct value of this attribute (user, api_key, project, "
        "...; repeat for several): every user gets the limit.",
    ),
]
Subject = Annotated[
    list[str] | None,
    typer.Option(
        "--subject", metavar="ATTR=VALUE", help="Only the windows of this value (repeat)."
    ),
]
CLEARABLE = (
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tags",
    "token_limit",
    "cost_limit",
    "request_limit",
    "action_threshold",
    "starts_at",
    "ends_at",
    "each",
)

COLUMNS: list[r.Column] = [
    ("id", lambda p: p["policy_id"]),
    ("name", lambda p: p["name"]),
    ("type", lambda p: p["type"]),
    ("period", lambda p: p["period"]),
    ("limit", lambda p: r.limits(p["token_limit"], p["cost_limit"])),
    ("scope", lambda p: _scope_text(p["scope"]) + _each_text(p.get("each"))),
    ("tz", lambda p: p["timezone"]),
    ("enabled", lambda p: p["enabled"]),
]


def _scope_text(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.items() if v not in (None, [])) or "any request"


def _each_text(each: list[str] | None) -> str:
    return f"; a window per {', '.join(each)}" if each else ""


def show_policy(cli: Cli, item: dict[str, Any]) -> None:
    cli.print(r.details(item, title=f"policy {item['name']}"))


def _limits_body(
    token_limit, cost_limit, warn, action_threshold, critical_headroom, request_limit=None
) -> dict:
    return compact(
        token_limit=token_limit,
        cost_limit=cost_limit,
        request_limit=request_limit,
        warning_thresholds=list(warn) if warn else None,
        action_threshold=action_threshold,
        critical_headroom=critical_headroom,
    )


@command(app, "add")
def add(
    cli: Cli,
    budget: BudgetRef,
    type: Annotated[PolicyType, typer.Option("--type", help="What the limit does.")],
    period: Annotated[Period, typer.Option(help="The window a limit counts over.")],
    token_limit: TokenLimit = None,
    cost_limit: CostLimit = None,
    request_limit: RequestLimit = None,
    name: Annotated[str | None, typer.Option(help="A name (default: derived).")] = None,
    timezone: Timezone = None,
    warn: Warn = None,
    action_threshold: Action = None,
    critical_headroom: Headroom = None,
    starts_at: StartsAt = None,
    ends_at: EndsAt = None,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="In force.")] = True,
    count_existing: Annotated[
        bool,
        typer.Option(
            "--count-existing/--no-count-existing",
            help="Start the current window from the spend already recorded in it "
            "(default), or from zero.",
        ),
    ] = True,
    each: Each = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    tier: TierOpt = None,
    task_type: TaskType = None,
    tag: Tags = None,
) -> None:
    """Add a policy to a budget: a type, a period and a token and/or USD limit.

    Its windows count the spend already recorded inside them that its scope
    covers, unless --no-count-existing.

    Example: budget policies add team-alpha --type hard_limit --period daily --cost-limit 5 --provider openai --timezone Europe/Berlin
    """  # noqa: E501
    body = {
        "type": type.value,
        "period": period.value,
        **_limits_body(
            token_limit, cost_limit, warn, action_threshold, critical_headroom, request_limit
        ),
        **compact(
            name=name, timezone=timezone, starts_at=starts_at, ends_at=ends_at, enabled=enabled
        ),
        "count_existing": count_existing,
        **compact(each=list(each) if each else None),
        **scope(component, project, user, api_key, provider, model, tier, task_type, tag),
    }
    budget_id = cli.client.resolve_budget(budget)
    cli.emit(cli.client.add_policy(budget_id, body), lambda p: show_policy(cli, p))


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Only this budget's (id or name).")
    ] = None,
) -> None:
    """List live policies, of one budget or of all.

    Example: budget policies list --budget team-alpha
    """
    budget_id = cli.client.resolve_budget(budget) if budget else None
    items = cli.client.list_policies(budget_id)

    def render(rows: list[dict[str, Any]]) -> None:
        cli.print(r.table(rows, COLUMNS))
        cli.say(f"{len(rows)} policies")

    cli.emit(items, render)


@command(app, "show", reads=True)
def show(cli: Cli, policy: PolicyRef) -> None:
    """Show one policy.

    Example: budget policies show pol_0123456789abcdef01234567
    """
    cli.emit(cli.client.get_policy(policy), lambda p: show_policy(cli, p))


@command(app, "update")
def update(
    cli: Cli,
    policy: PolicyRef,
    type: Annotated[PolicyType | None, typer.Option("--type", help="New type.")] = None,
    period: Annotated[Period | None, typer.Option(help="New period.")] = None,
    token_limit: TokenLimit = None,
    cost_limit: CostLimit = None,
    request_limit: RequestLimit = None,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    timezone: Timezone = None,
    warn: Warn = None,
    action_threshold: Action = None,
    critical_headroom: Headroom = None,
    starts_at: StartsAt = None,
    ends_at: EndsAt = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            metavar="FIELD",
            help="Unset a field: a scope filter, a limit, action_threshold, starts_at or "
            "ends_at (repeat).",
        ),
    ] = None,
    each: Each = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    tier: TierOpt = None,
    task_type: TaskType = None,
    tag: Tags = None,
) -> None:
    """Change some fields of a policy (the result is validated as a whole).

    Example: budget policies update pol_0123456789abcdef01234567 --cost-limit 10 --clear provider
    """
    body = {
        **compact(type=type, period=period, name=name, timezone=timezone),
        **compact(starts_at=starts_at, ends_at=ends_at, each=list(each) if each else None),
        **_limits_body(
            token_limit, cost_limit, warn, action_threshold, critical_headroom, request_limit
        ),
        **scope(component, project, user, api_key, provider, model, tier, task_type, tag),
    }
    for field in clear or ():
        if field not in CLEARABLE:
            raise ValidationError("--clear", field, f"must be one of {', '.join(CLEARABLE)}")
        body[field] = None
    if not body:
        raise ValidationError("policy", policy, "nothing to change: give an option to update")
    cli.emit(cli.client.update_policy(policy, body), lambda p: show_policy(cli, p))


@command(app, "history", reads=True)
def history(
    cli: Cli,
    policy: PolicyRef,
    last: Annotated[int, typer.Option(min=1, max=1000, help="How many windows.")] = 12,
    subject: Subject = None,
) -> None:
    """A policy's last windows, newest first: used, limits and how full each got.

    Example: budget policies history pol_0123456789abcdef01234567 --last 6 --subject user=alice
    """
    rows = cli.client.window_history(policy, last, subject)
    columns: list[r.Column] = [
        ("window", lambda w: w["window"] + (" (replaced)" if w["superseded_at"] else "")),
        ("from", lambda w: r.when(w["starts_at"]) or ""),
        ("until", lambda w: r.when(w["ends_at"]) or ""),
        ("used", lambda w: f"{w['tokens_used']:,} tok {r.usd(w['cost_used'])}"),
        ("limit", lambda w: r.limits(w["token_limit"], w["cost_limit"])),
        ("peak fill", lambda w: "" if w["peak_fill"] is None else f"{float(w['peak_fill']):.0%}"),
    ]
    cli.emit(rows, lambda items: cli.print(r.table(items, columns)))


@command(app, "disable")
def disable(cli: Cli, policy: PolicyRef) -> None:
    """Stop enforcing a policy (its windows are kept).

    Example: budget policies disable pol_0123456789abcdef01234567
    """
    cli.emit(cli.client.set_policy_enabled(policy, False), lambda p: show_policy(cli, p))


@command(app, "enable")
def enable(cli: Cli, policy: PolicyRef) -> None:
    """Enforce a disabled policy again.

    Example: budget policies enable pol_0123456789abcdef01234567
    """
    cli.emit(cli.client.set_policy_enabled(policy, True), lambda p: show_policy(cli, p))


@command(app, "delete")
def delete(cli: Cli, policy: PolicyRef) -> None:
    """Delete a policy (soft: its windows and the ledger stay).

    Example: budget policies delete pol_0123456789abcdef01234567
    """
    cli.client.delete_policy(policy)
    cli.say(f"deleted policy {policy}")
