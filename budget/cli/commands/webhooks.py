"""``budget webhooks …``: receivers of events, their deliveries, replay, secrets."""

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
Kind = Annotated[
    str | None,
    typer.Option(help="generic (the event as JSON) or slack (a Slack incoming-webhook URL)."),
]
Events = Annotated[
    list[str] | None,
    typer.Option("--event", help="An event type to send (repeat; default: all)."),
]
Description = Annotated[str | None, typer.Option(help="What it is for.")]

COLUMNS: list[r.Column] = [
    ("id", lambda h: h["webhook_id"]),
    ("kind", lambda h: h["kind"]),
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
    event: Events = None,
    budget: BudgetFilter = None,
    description: Description = None,
    kind: Kind = None,
) -> None:
    """Register a webhook; its signing secret is shown this once. A slack webhook
    gets the alert events unless --event says otherwise.

    Example: budget webhooks add https://ops.example.com/budget --event budget.limit_exceeded
    """
    budget_id = cli.client.resolve_budget(budget) if budget else None
    body = compact(url=url, events=list(event) if event else None, budget_id=budget_id)
    body.update(compact(description=description, kind=kind))
    cli.emit(cli.client.create_webhook(body), lambda h: _show_with_secret(cli, h))


def _show_with_secret(cli: Cli, h: dict[str, Any]) -> None:
    cli.print(r.details(h, title=f"webhook {h['webhook_id']}", skip=("secret",)))
    cli.say(f"signing secret (shown once): {h['secret']}")


def _show(cli: Cli, h: dict[str, Any]) -> None:
    cli.print(r.details(h, title=f"webhook {h['webhook_id']}"))


@command(app, "show", reads=True)
def show(cli: Cli, webhook: WebhookArg) -> None:
    """One webhook: URL, kind, filters, whether it is paused (never its secret).

    Example: budget webhooks show whk_0123456789abcdef01234567
    """
    cli.emit(cli.client.get_webhook(webhook), lambda h: _show(cli, h))


@command(app, "update")
def update(
    cli: Cli,
    webhook: WebhookArg,
    target_url: Annotated[
        str | None,
        typer.Option(help="The webhook's new http(s) URL (--url names the server)."),
    ] = None,
    event: Events = None,
    all_events: Annotated[bool, typer.Option(help="Send every event type.")] = False,
    budget: BudgetFilter = None,
    all_budgets: Annotated[bool, typer.Option(help="Send every budget's events.")] = False,
    description: Description = None,
    kind: Kind = None,
) -> None:
    """Change a webhook; what is not given stays. Filters apply to new events.

    Example: budget webhooks update whk_0123456789abcdef01234567 --event budget.limit_exceeded
    """
    body = compact(url=target_url, description=description, kind=kind)
    if event or all_events:
        body["events"] = [] if all_events else list(event or ())
    if budget or all_budgets:
        body["budget_id"] = None if all_budgets else cli.client.resolve_budget(budget)
    cli.emit(cli.client.update_webhook(webhook, body), lambda h: _show(cli, h))


@command(app, "pause")
def pause(cli: Cli, webhook: WebhookArg) -> None:
    """Stop sending to a webhook; its events are kept for when it resumes.

    Example: budget webhooks pause whk_0123456789abcdef01234567
    """
    result = cli.client.set_webhook_active(webhook, False)
    cli.emit(result, lambda _: cli.say(f"paused {webhook}"))


@command(app, "resume")
def resume(cli: Cli, webhook: WebhookArg) -> None:
    """Send again: first what happened while paused, in order, then new events.

    Example: budget webhooks resume whk_0123456789abcdef01234567
    """
    result = cli.client.set_webhook_active(webhook, True)
    cli.emit(result, lambda _: cli.say(f"resumed {webhook}"))


@command(app, "rotate-secret")
def rotate_secret(
    cli: Cli,
    webhook: WebhookArg,
    overlap_seconds: Annotated[
        int | None,
        typer.Option(help="Seconds the old secret still signs (default: the setting, 24 h)."),
    ] = None,
) -> None:
    """A new signing secret, shown this once; deliveries carry both signatures
    during the overlap, so the receiver can switch without losing any.

    Example: budget webhooks rotate-secret whk_0123456789abcdef01234567 --overlap-seconds 3600
    """
    body = compact(overlap_seconds=overlap_seconds)
    result = cli.client.rotate_webhook_secret(webhook, body)
    cli.emit(result, lambda h: _show_with_secret(cli, h))


@command(app, "list", reads=True)
def list_(cli: Cli) -> None:
    """List webhooks (never their secrets).

    Example: budget webhooks list --json
    """
    cli.emit(cli.client.list_webhooks(), lambda items: cli.print(r.table(items, COLUMNS)))


@command(app, "remove")
def remove(cli: Cli, webhook: WebhookArg) -> None:
    """Remove a webhook and its delivery records.

    Example: budget webhooks remove whk_0123456789abcdef01234567
    """
    cli.client.delete_webhook(webhook)
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

    cli.emit(cli.client.list_deliveries(webhook, query), render)


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
    result = cli.client.replay_deliveries(webhook, body)
    cli.emit(result, lambda res: cli.say(f"{res['replayed']} deliveries queued again"))
