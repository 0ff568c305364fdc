"""Option types shared by several commands, and turning them into request bodies."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any

import typer

from budget.domain import scope as scope_fields
from budget.domain.enums import Tier
from budget.errors import ValidationError

SCOPE = "Scope (request attributes)"


def scope_option(name: str) -> Any:
    """The option of the declared text field ``name`` (:mod:`budget.domain.scope`):
    its flag (``--task-type``) and help, in the scope panel."""
    declared = scope_fields.text_field(name)
    return Annotated[
        str | None, typer.Option(declared.option, help=declared.help, rich_help_panel=SCOPE)
    ]


Component = scope_option("component")
Project = scope_option("project")
User = scope_option("user")
ApiKeyAttr = scope_option("api_key")
Provider = scope_option("provider")
Model = scope_option("model")
TierOpt = Annotated[Tier | None, typer.Option(help="Model tier.", rich_help_panel=SCOPE)]
TaskType = scope_option("task_type")
Tags = Annotated[
    list[str] | None,
    typer.Option(
        scope_fields.text_field("tag").option,
        help=scope_fields.text_field("tag").help + " Repeat for several.",
        rich_help_panel=SCOPE,
    ),
]
Meta = Annotated[
    list[str] | None,
    typer.Option("--meta", metavar="KEY=VALUE", help="Metadata entry (repeat; VALUE may be JSON)."),
]
Priced = Annotated[
    bool | None, typer.Option("--priced/--unpriced", help="Only priced / unpriced usage.")
]
EntryKind = Annotated[str | None, typer.Option(help="Only usage, void or adjust entries.")]
Corrects = Annotated[
    str | None, typer.Option("--corrects", help="Only the corrections of this usage id.")
]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows per page.")]
Offset = Annotated[int, typer.Option(min=0, help="Rows to skip.")]
TIMES = "ISO date or date-time, now, today, yesterday, or an age: 30m, 24h, 7d, 2w"


def time_option(help_: str, *names: str) -> Any:
    """An optional time option, passed on as typed: the engine reads it with the
    one parser of times (``budget.domain.when``), on the server for --url, so a
    bad value is an error naming the field and the value from either backend."""
    return Annotated[str | None, typer.Option(*names, help=f"{help_} ({TIMES}).")]


Since = time_option("From this time on; a date is midnight UTC")
Until = time_option("Before this time")
BudgetRef = Annotated[str, typer.Argument(help="Budget id or name.", show_default=False)]
BudgetFilter = Annotated[
    str | None, typer.Option("--budget", help="Only this budget (id or name).")
]


def value(x: Any) -> Any:
    """An option's value as JSON: enums by value."""
    return x.value if isinstance(x, Enum) else x


def compact(**fields: Any) -> dict[str, Any]:
    """A request body or query from options: unset (None) ones left out."""
    return {k: value(v) for k, v in fields.items() if v is not None}


def scope(
    component=None,
    project=None,
    user=None,
    api_key=None,
    provider=None,
    model=None,
    tier=None,
    task_type=None,
    tags=None,
) -> dict[str, Any]:
    return compact(
        component=component,
        project=project,
        user=user,
        api_key=api_key,
        provider=provider,
        model=model,
        tier=tier,
        task_type=task_type,
        tags=list(tags) if tags else None,
    )


def metadata(pairs: list[str] | None) -> dict[str, Any] | None:
    """``--meta k=v`` options as a dict (values parsed as JSON when they are)."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError("--meta", pair, "must be KEY=VALUE")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def priority(text: str | None) -> int | str | None:
    """1..10 or low / normal / high / critical."""
    if text is None:
        return None
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped.lower()


ServiceTierOpt = Annotated[
    str | None,
    typer.Option(
        "--service-tier",
        help="The provider's service tier: standard (default), batch, flex or priority.",
    ),
]
