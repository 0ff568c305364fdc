"""``budget webhooks …``: receivers of events, their deliveries, replay."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from budget.cli import render as r
from budget.cli.options import BudgetFilter, Limit, Offset, compact
from budget.cli.runtime import Cli, command

app = typer.Typer(
    help="Webhooks: signed event deliveries to your URLs, with retries and replay.",
    no_args_is_help=True,
)
WebhookArg = Annotated[str, typer.Argument(help="Webhook id (whk_…).", show_default=False)]
Status = Annotated[str | None, typer.Option(help="pending, delivered or dead.")]

COLUMNS: list[r.Column] = [
    ("id", lambda h: h["webhook_id"]),
    ("url", lambda h: h["url"]),
    ("events", lambda h: ", ".join(h["event_types"]) or "all"),
    ("budget", lambda h: h["budget_id"] or "all"),
    ("active", lambda h: "yes" if h["active"] else "no"),
    ("created", lambda h: r.when(h["created_at"])),
]
DELIVERY_COLUMNS: list[r.Column] = [
    ("id", lambda d: d["delivery_id"]),
    ("seq", lambda d: d["event_sequence"]),
    ("event", lambda d: d["event_type"]),
    ("status", lambda d: d["status"]),
    ("attempts", lambda d: d["attempts"]),
    ("last code", lambda d: d["last_status_code"] or ""),
    ("last error", lambda d: d["last_error"] or ""),
    ("next attempt", lambda d: r.when(d["next_attempt_at"]) if d["next_attempt_at"] else ""),
    ("delivered", lambda d: r.when(d["delivered_at"]) if d["delivered_at"] else ""),
]


@command(app, "add")
def add(
    cli: Cli,
    url: Annotated[str, typer.Argument(help="http(s) URL that accepts POSTed JSON.")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type to send (repeat; default: all)."),
    ] = None,
    budget: BudgetFilter = None,
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
) -> None:
    """Register a webhook; its signing secret is shown this once.

    Example: budget webhooks add https://ops.example.com/budget --event budget.limit_exceeded
    """
    budget_id = cli.backend.resolve_budget(budget) if budget else None
    body = compact(url=url, events=list(event) if event else None, budget_id=budget_id)
    body.update(compact(description=description))

    def render(h: dict[str, Any]) -> None:
        cli.print(r.details(h, title=f"webhook {h['webhook_id']}", skip=("secret",)))
        cli.say(f"signing secret (shown once): {h['secret']}")

    cli.emit(cli.backend.create_webhook(body), render)


@command(app, "list", reads=True)
def list_(cli: Cli) -> None:
    """List webhooks (never their secrets).

    Example: budget webhooks list --json
    """
    cli.emit(cli.backend.list_webhooks(), lambda items: cli.print(r.table(items, COLUMNS)))


@command(app, "remove")
def remove(cli: Cli, webhook: WebhookArg) -> None:
    """Remove a webhook and its delivery records.

    Example: budget webhooks remove whk_0123456789abcdef01234567
    """
    cli.backend.delete_webhook(webhook)
    cli.emit({"webhook_id": webhook, "removed": True}, lambda _: cli.say(f"removed {webhook}"))


@command(app, "deliveries", reads=True)
def deliveries(
    cli: Cli, webhook: WebhookArg, status: Status = None, limit: Limit = 50, offset: Offset = 0
) -> None:
    """A webhook's deliveries, newest first: attempts, last error, next attempt.

    Example: budget webhooks deliveries whk_0123456789abcdef01234567 --status dead
    """
    query = compact(status=status, limit=limit, offset=offset)

    def render(page: dict[str, Any]) -> None:
        cli.print(r.table(page["items"], DELIVERY_COLUMNS))
        cli.say(r.page_footer(page, "deliveries"))

    cli.emit(cli.backend.list_deliveries(webhook, query), render)


@command(app, "replay")
def replay(
    cli: Cli,
    webhook: WebhookArg,
    delivery: Annotated[int | None, typer.Option(help="Only this delivery id.")] = None,
    since_sequence: Annotated[
        int | None, typer.Option(help="Every event from this sequence number on.")
    ] = None,
    status: Status = None,
) -> None:
    """Send deliveries again with fresh attempts (default: every dead one).

    Example: budget webhooks replay whk_0123456789abcdef01234567
    """
    body = compact(delivery_id=delivery, since_sequence=since_sequence, status=status)
    result = cli.backend.replay_deliveries(webhook, body)
    cli.emit(result, lambda res: cli.say(f"{res['replayed']} deliveries queued again"))
