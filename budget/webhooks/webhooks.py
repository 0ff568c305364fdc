"""Webhooks: register, list, remove; their deliveries; replay.

A webhook receives the events that pass its filters (types; a budget) from
the moment it is created. Its secret is generated here and returned once;
deliveries are signed with it (see :mod:`budget.webhooks.signing`). Its URL
must reach a public address unless the settings allow others
(:mod:`budget.webhooks.targets`). Changes, pausing and secret rotation are in
:mod:`budget.webhooks.webhook_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update

from budget.clock import utcnow
from budget.domain import validation as v
from budget.errors import NotFound, ValidationError
from budget.events.bus import check_types
from budget.events.outbox import assign_sequence, last_sequence
from budget.storage import tables as t
from budget.storage.sql import new_id
from budget.storage.tables_events import webhook_deliveries, webhooks
from budget.webhooks.context import WebhookContext
from budget.webhooks.signing import new_secret
from budget.webhooks.slack import SLACK, SLACK_DEFAULT_TYPES, WEBHOOK_KINDS
from budget.webhooks.targets import TargetPolicy, TargetRefused, checked_addresses

H = webhooks.c
D = webhook_deliveries.c
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)


@dataclass(frozen=True)
class Webhook:
    """A registered receiver (its secret is never shown again after creation)."""

    webhook_id: str
    url: str
    event_types: tuple[str, ...]
    budget_id: str | None
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    kind: str = "generic"
    #: While a rotation's overlap lasts: when the previous secret stops signing.
    previous_secret_expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        until = self.previous_secret_expires_at
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "kind": self.kind,
            "event_types": list(self.event_types),
            "budget_id": self.budget_id,
            "description": self.description,
            "active": self.active,
            "previous_secret_expires_at": until.isoformat() if until else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Delivery:
    """One event for one webhook and how its delivery went."""

    delivery_id: int
    webhook_id: str
    event_id: str
    event_type: str
    event_sequence: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


def check_url(url: Any) -> str:
    """An http(s) URL with a host, else a ValidationError naming it."""
    text = v.text("url", url, required=True, max_len=2000) or ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _has_valid_port(parts):
        raise ValidationError("url", url, "must be an http:// or https:// URL with a host")
    return text


def _has_valid_port(parts) -> bool:
    try:
        parts.port  # noqa: B018  (reading it validates it)
    except ValueError:
        return False
    return True


def target_policy(ctx: WebhookContext) -> TargetPolicy:
    """Which addresses webhooks may reach, from the settings."""
    s = ctx.settings
    return TargetPolicy.of(s.webhook_allow_private, s.webhook_allowed_networks)


def check_target(ctx: WebhookContext, url: Any) -> str:
    """:func:`check_url`, and every address its host resolves to must be one
    webhooks may reach. A name that does not resolve is accepted: every
    connection resolves and checks again."""
    text = check_url(url)
    parts = urlsplit(text)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        timeout = ctx.settings.webhook_timeout_seconds
        checked_addresses(parts.hostname or "", port, target_policy(ctx), timeout)
    except TargetRefused as exc:
        raise ValidationError("url", url, f"is not an allowed webhook target: {exc}") from None
    except OSError:
        pass  # a name that does not resolve (yet): each delivery checks it again
    return text


def check_kind(kind: Any) -> str:
    """``generic`` or ``slack``, else a ValidationError naming it."""
    if kind not in WEBHOOK_KINDS:
        raise ValidationError("kind", kind, "must be one of " + ", ".join(WEBHOOK_KINDS))
    return kind


def create_webhook(
    ctx: WebhookContext,
    url: Any,
    *,
    events: Any = None,
    budget_id: Any = None,
    description: Any = None,
    kind: Any = "generic",
) -> tuple[Webhook, str]:
    """Register a receiver; returns it and its signing secret (shown only now).
    A ``slack`` webhook naming no event types gets the alert types."""
    target = check_target(ctx, url)
    form = check_kind(kind)
    if form == SLACK and not events:
        events = list(SLACK_DEFAULT_TYPES)
    types = sorted(check_types(events, "events") or ())
    budget = v.text("budget_id", budget_id, max_len=40)
    note = v.text("description", description, max_len=500)
    now = utcnow()
    secret = new_secret()
    values = {
        "id": new_id("whk"),
        "url": target,
        "kind": form,
        "secret": secret,
        "event_types": types,
        "budget_id": budget,
        "description": note,
        "active": True,
        "created_at": now,
        "updated_at": now,
    }
    if not ctx.db.is_sqlite:
        with ctx.db.write() as conn:
            assign_sequence(conn)
    with ctx.db.write() as conn:
        if budget is not None and not budget_exists(conn, budget):
            raise NotFound("budget", "budget_id", budget)
        conn.execute(webhooks.insert().values(cursor=last_sequence(conn), **values))
    return _webhook(values), secret


def budget_exists(conn, budget_id: str) -> bool:
    """True if ``budget_id`` names a budget that was not deleted."""
    query = select(t.budgets.c.id).where(
        t.budgets.c.id == budget_id, t.budgets.c.deleted_at.is_(None)
    )
    return conn.execute(query).first() is not None


def _webhook(row: Any) -> Webhook:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k, None)
    until = get("previous_secret_expires_at")
    return Webhook(
        webhook_id=get("id"),
        url=get("url"),
        event_types=tuple(get("event_types") or ()),
        budget_id=get("budget_id"),
        description=get("description"),
        active=bool(get("active")),
        created_at=get("created_at"),
        updated_at=get("updated_at"),
        kind=get("kind") or "generic",
        previous_secret_expires_at=until if until is not None and until > utcnow() else None,
    )


def list_webhooks(ctx: WebhookContext) -> list[Webhook]:
    """Every webhook, oldest first."""
    with ctx.db.read() as conn:
        rows = conn.execute(select(webhooks).order_by(H.created_at, H.id)).all()
    return [_webhook(r) for r in rows]


def get_webhook(ctx: WebhookContext, webhook_id: str) -> Webhook:
    """One webhook (never its secret), or NotFound naming ``webhook_id``."""
    with ctx.db.read() as conn:
        row = conn.execute(select(webhooks).where(H.id == webhook_id)).first()
    if row is None:
        raise NotFound("webhook", "webhook_id", webhook_id)
    return _webhook(row)


def set_active(ctx: WebhookContext, webhook_id: str, active: bool) -> Webhook:
    """Pause (False) or resume (True) a webhook. A paused webhook is sent nothing;
    its position in the event stream stays, so on resume it gets every event
    of its filters since it was paused (then new ones), in order."""
    with ctx.db.write() as conn:
        found = conn.execute(
            update(webhooks)
            .where(H.id == webhook_id)
            .values(active=bool(active), updated_at=utcnow())
            .returning(H.id)
        ).first()
    if found is None:
        raise NotFound("webhook", "webhook_id", webhook_id)
    return get_webhook(ctx, webhook_id)


def delete_webhook(ctx: WebhookContext, webhook_id: str) -> None:
    """Remove a webhook and its delivery records; nothing more is sent to it."""
    with ctx.db.write() as conn:
        conn.execute(delete(webhook_deliveries).where(D.webhook_id == webhook_id))
        gone = conn.execute(delete(webhooks).where(H.id == webhook_id)).rowcount
    if not gone:
        raise NotFound("webhook", "webhook_id", webhook_id)


def list_deliveries(
    ctx: WebhookContext,
    webhook_id: str,
    *,
    status: Any = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Delivery], int]:
    """A webhook's deliveries, newest first, with the total that match."""
    get_webhook(ctx, webhook_id)
    limit, offset = v.page(limit, offset)
    query = select(webhook_deliveries).where(D.webhook_id == webhook_id)
    if status is not None:
        query = query.where(D.status == _status(status))
    with ctx.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(D.id.desc()).limit(limit).offset(offset)).all()
    return [row_to_delivery(r) for r in rows], total


def _status(value: Any) -> str:
    if value not in DELIVERY_STATUSES:
        raise ValidationError("status", value, "must be one of " + ", ".join(DELIVERY_STATUSES))
    return value


def row_to_delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        event_sequence=row.event_seq,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


def replay(
    ctx: WebhookContext,
    webhook_id: str,
    *,
    delivery_id: Any = None,
    status: Any = None,
    since_sequence: Any = None,
) -> int:
    """Send deliveries again from a fresh count of attempts; returns how many.

    ``delivery_id``: that one; ``since_sequence``: every delivery of an event
    from that sequence number on (delivered ones too); otherwise those with
    ``status`` (default: dead).
    """
    get_webhook(ctx, webhook_id)
    query = update(webhook_deliveries).where(D.webhook_id == webhook_id)
    if delivery_id is not None:
        if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
            raise ValidationError("delivery_id", delivery_id, "must be a delivery's integer id")
        query = query.where(D.id == delivery_id)
    elif since_sequence is not None:
        if isinstance(since_sequence, bool) or not isinstance(since_sequence, int):
            raise ValidationError("since_sequence", since_sequence, "must be an integer")
        query = query.where(D.event_seq >= since_sequence)
    else:
        query = query.where(D.status == _status(status or DEAD))
    now = utcnow()
    values = {"status": PENDING, "attempts": 0, "next_attempt_at": now, "delivered_at": None}
    with ctx.db.write() as conn:
        count = conn.execute(query.values(**values)).rowcount or 0
    if delivery_id is not None and count == 0:
        raise NotFound("delivery", "delivery_id", delivery_id)
    return count
