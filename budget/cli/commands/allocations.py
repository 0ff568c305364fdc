"""``budget allocate``, ``budget check`` and ``budget allocations …``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import (
    ApiKeyAttr,
    Component,
    Limit,
    Meta,
    Model,
    Offset,
    Project,
    Provider,
    ServiceTierOpt,
    Tags,
    TaskType,
    TierOpt,
    User,
    compact,
    metadata,
    priority,
    scope,
)
from budget.cli.root import app as root
from budget.cli.runtime import EXIT_DENIED, Cli, command
from budget.domain.enums import AllocationStatus

app = typer.Typer(help="List, show and release allocations.", no_args_is_help=True)

AllocationRef = Annotated[str, typer.Argument(help="Allocation id.", show_default=False)]
SIZE = "Size"
Input = Annotated[
    int | None, typer.Option("--input", min=0, help="Input tokens.", rich_help_panel=SIZE)
]
MaxOutput = Annotated[
    int | None,
    typer.Option("--max-output", min=0, help="Most output tokens.", rich_help_panel=SIZE),
]
Tokens = Annotated[
    int | None,
    typer.Option(
        "--tokens",
        min=1,
        help="Total tokens (instead of --input/--max-output).",
        rich_help_panel=SIZE,
    ),
]
Priority = Annotated[
    str | None,
    typer.Option("--priority", help="1..10 or low, normal, high, critical (default normal)."),
]
Session = Annotated[str | None, typer.Option("--session", help="Session id (per_session).")]
Task = Annotated[str | None, typer.Option("--task", help="Task id (per_task).")]
Ttl = Annotated[
    int | None, typer.Option("--ttl", min=1, help="Seconds until unused tokens return.")
]

COLUMNS: list[r.Column] = [
    ("id", lambda a: a["allocation_id"]),
    ("context", lambda a: a["context_id"]),
    ("status", lambda a: a["status"]),
    ("priority", lambda a: a["priority"]),
    ("reserved", lambda a: f"{a['tokens_reserved']:,} tok {r.usd(a['cost_reserved'])}"),
    ("used", lambda a: f"{a['tokens_used']:,} tok {r.usd(a['cost_used'])}"),
    (
        "model",
        lambda a: "/".join(x for x in (a["attributes"]["provider"], a["attributes"]["model"]) if x),
    ),
    ("expires", lambda a: r.when(a["expires_at"])),
]


def _request(o: dict[str, Any]) -> dict[str, Any]:
    """The POST /allocations (or /check) body from the command's options, by name."""
    return {
        **compact(
            context_id=o["context_id"],
            input_tokens=o["input"],
            max_output_tokens=o["max_output"],
            tokens=o["tokens"],
            priority=priority(o["priority_"]),
            session_id=o["session"],
            task_id=o["task"],
            ttl_seconds=o["ttl"],
            metadata=metadata(o["meta"]),
            service_tier=o["service_tier"],
        ),
        **scope(
            o["component"],
            o["project"],
            o["user"],
            o["api_key"],
            o["provider"],
            o["model"],
            o["tier"],
            o["task_type"],
            o["tag"],
        ),
    }


def show_allocation(cli: Cli, a: dict[str, Any]) -> None:
    cli.print(r.details(a, title=f"allocation {a['allocation_id']}"))
    if a["over_soft_limit"]:
        hint = f"; consider {a['recommended_model']}" if a["recommended_model"] else ""
        cli.say(f"warning: over a soft limit{hint}")


@command(root, "allocate")
def allocate(
    cli: Cli,
    context_id: Annotated[
        str, typer.Argument(help="The context or task asking.", show_default=False)
    ],
    provider: Provider = None,
    model: Model = None,
    input: Input = None,
    max_output: MaxOutput = None,
    tokens: Tokens = None,
    priority_: Priority = None,
    tier: TierOpt = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    task_type: TaskType = None,
    tag: Tags = None,
    session: Session = None,
    task: Task = None,
    ttl: Ttl = None,
    meta: Meta = None,
    service_tier: ServiceTierOpt = None,
) -> None:
    """Reserve tokens (and their USD) on every matching window before a call.

    Exits 3 with the denial (policy, window, limit, used, reserved, resets at)
    when a hard limit refuses; nothing is then reserved.

    Example: budget allocate task-42 --provider openai --model gpt-4o --input 1200 --max-output 800
    """
    options = dict(locals())
    body = _request(options)
    cli.emit(cli.client.allocate(body), lambda a: show_allocation(cli, a))


@command(root, "check", reads=True)
def check(
    cli: Cli,
    context_id: Annotated[
        str, typer.Argument(help="The context or task asking.", show_default=False)
    ] = "dry-run",
    provider: Provider = None,
    model: Model = None,
    input: Input = None,
    max_output: MaxOutput = None,
    tokens: Tokens = None,
    priority_: Priority = None,
    tier: TierOpt = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    task_type: TaskType = None,
    tag: Tags = None,
    session: Session = None,
    task: Task = None,
    ttl: Ttl = None,
    meta: Meta = None,
    service_tier: ServiceTierOpt = None,
) -> None:
    """Would this allocation be granted now? A dry run: reserves and writes nothing.

    Exits 0 when it would be granted, 3 when a hard limit would refuse.

    Example: budget check --provider openai --model gpt-4o --tokens 50000 --json
    """
    options = dict(locals())
    body = _request(options)
    result = cli.client.check(body)

    def render(c: dict[str, Any]) -> None:
        cost = f", about {r.usd(c['estimated_cost'])}" if c["estimated_cost"] else ""
        if c["allowed"]:
            soft = " (over a soft limit)" if c["over_soft_limit"] else ""
            cli.say(f"allowed: {c['tokens']:,} tokens{cost}{soft}")
        else:
            cli.say(f"denied: {c['tokens']:,} tokens{cost}: {r.describe_denials(c['denials'])}")
        if c["recommended_model"]:
            cli.say(f"cheaper model: {c['recommended_model']}")
        cli.say(f"policies: {', '.join(c['policy_ids']) or 'none match'}")

    cli.emit(result, render)
    if not result["allowed"]:
        raise typer.Exit(EXIT_DENIED)


@command(app, "list", reads=True)
def list_(
    cli: Cli,
    context: Annotated[str | None, typer.Option("--context", help="Only this context id.")] = None,
    status: Annotated[AllocationStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> None:
    """List allocations, newest first.

    Example: budget allocations list --status active --context task-42
    """
    query = compact(context_id=context, status=status, limit=limit, offset=offset)

    def render(p: dict[str, Any]) -> None:
        cli.print(r.table(p["items"], COLUMNS))
        cli.say(r.page_footer(p, "allocations"))

    cli.emit(cli.client.list_allocations(query), render)


@command(app, "show", reads=True)
def show(cli: Cli, allocation: AllocationRef) -> None:
    """Show one allocation (expired on access if past its deadline).

    Example: budget allocations show alc_0123456789abcdef01234567
    """
    cli.emit(cli.client.get_allocation(allocation), lambda a: show_allocation(cli, a))


@command(app, "release")
def release(cli: Cli, allocation: AllocationRef) -> None:
    """Return what an allocation did not use to its windows (idempotent).

    Example: budget allocations release alc_0123456789abcdef01234567
    """
    cli.emit(cli.client.release(allocation), lambda a: show_allocation(cli, a))


@command(app, "sweep")
def sweep(cli: Cli) -> None:
    """Expire every allocation past its deadline, returning what it held (local database).

    Example: budget allocations sweep --database-url postgresql://postgres@127.0.0.1/budget
    """
    result = cli.client.sweep()
    cli.emit(result, lambda x: cli.say(f"expired {x['expired']} allocations"))
