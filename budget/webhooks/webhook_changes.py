"""Changing a webhook after registration: its URL, filters, description and
kind; and rotating its secret with an overlap.

Filter changes apply to events not yet fanned out to the webhook; deliveries
already queued keep going. During a rotation's overlap every delivery is
signed with the new secret and with the previous one, so receivers switch
whenever they like within it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from budget.clock import utcnow
from budget.domain import validation as v
from budget.errors import NotFound, ValidationError
from budget.events.bus import check_types
from budget.storage.tables_events import webhooks
from budget.webhooks.context import WebhookContext
from budget.webhooks.signing import new_secret
from budget.webhooks.webhooks import (
    Webhook,
    budget_exists,
    check_kind,
    check_target,
    get_webhook,
)

H = webhooks.c
_UNSET: Any = object()
#: The longest overlap a rotation may ask for.
MAX_OVERLAP_SECONDS = 30 * 86400


def update_webhook(
    ctx: WebhookContext,
    webhook_id: str,
    *,
    url: Any = _UNSET,
    events: Any = _UNSET,
    budget_id: Any = _UNSET,
    description: Any = _UNSET,
    kind: Any = _UNSET,
) -> Webhook:
    """Change the given fields, the others stay. ``events`` None or empty: every
    type; ``budget_id`` None: every budget. A new URL is checked like at registration."""
    values: dict[str, Any] = {}
    if url is not _UNSET:
        values["url"] = check_target(ctx, url)
    if events is not _UNSET:
        values["event_types"] = sorted(check_types(events, "events") or ())
    if budget_id is not _UNSET:
        values["budget_id"] = v.text("budget_id", budget_id, max_len=40)
    if description is not _UNSET:
        values["description"] = v.text("description", description, max_len=500)
    if kind is not _UNSET:
        values["kind"] = check_kind(kind)
    with ctx.db.write() as conn:
        if values.get("budget_id") is not None and not budget_exists(conn, values["budget_id"]):
            raise NotFound("budget", "budget_id", values["budget_id"])
        found = conn.execute(
            update(webhooks)
            .where(H.id == webhook_id)
            .values(**values, updated_at=utcnow())
            .returning(H.id)
        ).first()
    if found is None:
        raise NotFound("webhook", "webhook_id", webhook_id)
    return get_webhook(ctx, webhook_id)


def rotate_secret(
    ctx: WebhookContext, webhook_id: str, *, overlap_seconds: Any = None
) -> tuple[Webhook, str]:
    """Give the webhook a new secret (returned, shown only now); the current one
    keeps signing too for ``overlap_seconds`` (default: the setting; 0: none).
    A rotation during an overlap ends the older secret's overlap at once."""
    overlap = _overlap(ctx, overlap_seconds)
    secret = new_secret()
    now = utcnow()
    with ctx.db.write() as conn:
        found = conn.execute(
            update(webhooks)
            .where(H.id == webhook_id)
            .values(
                previous_secret=H.secret if overlap else None,
                previous_secret_expires_at=now + timedelta(seconds=overlap) if overlap else None,
                secret=secret,
                updated_at=now,
            )
            .returning(H.id)
        ).first()
    if found is None:
        raise NotFound("webhook", "webhook_id", webhook_id)
    return get_webhook(ctx, webhook_id), secret


def _overlap(ctx: WebhookContext, value: Any) -> int:
    if value is None:
        return ctx.settings.webhook_secret_overlap_seconds
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("overlap_seconds", value, "must be a whole number of seconds")
    if not 0 <= value <= MAX_OVERLAP_SECONDS:
        raise ValidationError(
            "overlap_seconds", value, f"must be between 0 and {MAX_OVERLAP_SECONDS}"
        )
    return value
