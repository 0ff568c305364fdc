"""Building and storing events where the engine changes something.

Each function is called by the engine inside the transaction of the change,
with that transaction's connection: the event is stored in the outbox in the
same transaction (a rollback removes it; a retried transaction writes it
once), and handed to in-process subscribers only after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, select

from budget.clock import utcnow
from budget.domain.enums import AlertKind, AllocationStatus
from budget.domain.models import Allocation, Policy, UsageRecord
from budget.events import types as ev
from budget.events.bus import bus_of
from budget.events.outbox import insert_event
from budget.events.types import Event
from budget.pricing.serialize import price_to_dict
from budget.storage import tables as t
from budget.storage.database import after_commit
from budget.storage.sql import new_id


def emit(
    conn: Connection,
    type_: str,
    data: dict[str, Any],
    budget_ids: Iterable[str | None] = (),
    now=None,
) -> Event:
    """Store an event in the outbox within the transaction of ``conn``."""
    event = Event(
        event_id=new_id("evt"),
        type=type_,
        time=now or utcnow(),
        data=data,
        budget_ids=tuple(dict.fromkeys(b for b in budget_ids if b)),
    )
    insert_event(conn, event)
    bus = bus_of(conn)
    if bus is not None and bus.active:
        after_commit(conn, partial(bus.publish, event))
    return event


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def window_ref(policy: Policy, window_key: str) -> dict[str, Any]:
    """How an event names one policy window."""
    return {
        "budget_id": policy.budget_id,
        "policy_id": policy.policy_id,
        "policy_name": policy.name,
        "window": window_key,
    }


def _attributes(attrs) -> dict[str, Any]:
    return {
        "provider": attrs.provider,
        "model": attrs.model,
        "tier": attrs.tier.value if attrs.tier is not None else None,
        "task_type": attrs.task_type,
        "component": attrs.component,
        "project": attrs.project,
        "user": attrs.user,
    }


def allocation_created(conn: Connection, allocation: Allocation, targets, now) -> Event:
    """``allocation.created``: what was reserved, where, until when."""
    windows = [window_ref(x.policy, x.span.key) for x in targets]
    data = {
        "allocation_id": allocation.allocation_id,
        "context_id": allocation.context_id,
        "priority": allocation.priority,
        "tokens_reserved": allocation.tokens_reserved,
        "cost_reserved": _money(allocation.cost_reserved),
        "over_soft_limit": allocation.over_soft_limit,
        "recommended_model": allocation.recommended_model,
        "expires_at": _when(allocation.expires_at),
        **_attributes(allocation.attributes),
        "windows": windows,
    }
    return emit(conn, ev.ALLOCATION_CREATED, data, (w["budget_id"] for w in windows), now)


_W = t.windows.c
_P = t.policies.c
_WINDOWS = (
    select(_W.window_key, _P.id, _P.name, _P.budget_id)
    .select_from(t.windows.join(t.policies, _P.id == _W.policy_id))
    .where(_W.id.in_(bindparam("ids", expanding=True)))
    .order_by(_W.id)
)


def allocation_closed(
    conn: Connection,
    row,
    status: AllocationStatus,
    window_ids: list[int],
    now,
    windows: list[dict[str, Any]] | None = None,
) -> Event:
    """``allocation.released`` / ``allocation.expired``: what went back to which
    windows (``windows`` as :func:`window_ref` names them, else read by id)."""
    if windows is None:
        found = conn.execute(_WINDOWS, {"ids": list(window_ids)}).all() if window_ids else []
        windows = [
            {
                "budget_id": r.budget_id,
                "policy_id": r.id,
                "policy_name": r.name,
                "window": r.window_key,
            }
            for r in found
        ]
    type_ = ev.ALLOCATION_EXPIRED if status is AllocationStatus.EXPIRED else ev.ALLOCATION_RELEASED
    data = {
        "allocation_id": row.id,
        "context_id": row.context_id,
        "status": status.value,
        "tokens_returned": row.tokens_remaining,
        "tokens_used": row.tokens_used,
        "expires_at": _when(row.expires_at),
        "provider": row.provider,
        "model": row.model,
        "windows": windows,
    }
    return emit(conn, type_, data, (w["budget_id"] for w in windows), now)


def usage_recorded(conn: Connection, usage: UsageRecord, targets, now) -> UsageRecord:
    """``usage.recorded``: tokens, cost (None when unpriced) and the windows counted on.
    Returns ``usage`` itself, so the engine can emit and return in one step."""
    ids = {
        "allocation_id": usage.allocation_id,
        "context_id": usage.context_id,
    }
    return _usage_event(conn, ev.USAGE_RECORDED, usage, ids, targets, now)


def usage_corrected(conn: Connection, usage: UsageRecord, targets, now) -> UsageRecord:
    """``usage.corrected``: a void or adjust of the record ``corrects_id``; its
    token counts and cost are the change it made. Returns ``usage``."""
    what = {"kind": usage.kind, "corrects_id": usage.corrects_id, "reason": usage.reason}
    return _usage_event(conn, ev.USAGE_CORRECTED, usage, what, targets, now)


def _usage_event(conn, type_: str, usage: UsageRecord, extra: dict, targets, now):
    windows = [window_ref(x.policy, x.span.key) for x in targets]
    data = {
        "usage_id": usage.usage_id,
        "request_id": usage.request_id,
        **extra,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "service_tier": usage.service_tier,
        "priced": usage.priced,
        "cost": _money(usage.cost),
        "occurred_at": _when(usage.occurred_at),
        **_attributes(usage.attributes),
        "windows": windows,
    }
    emit(conn, type_, data, (w["budget_id"] for w in windows), now)
    return usage


_LEVELS = {
    AlertKind.THRESHOLD_CROSSED: "warning",
    AlertKind.ACTION_THRESHOLD: "action",
    AlertKind.LIMIT_REACHED: "limit",
}


def threshold_crossed(
    conn: Connection, target, kind: AlertKind, threshold: Decimal, details: dict[str, Any], now
) -> Event:
    """``budget.limit_approaching`` (a warning or action threshold) or
    ``budget.limit_exceeded`` (the limit itself), once per policy, window and level."""
    policy = target.policy
    data = {
        **window_ref(policy, target.span.key),
        "reason": "limit_reached" if kind is AlertKind.LIMIT_REACHED else "threshold_crossed",
        "level": _LEVELS.get(kind, kind.value),
        "threshold": format(threshold, "f"),
        **details,
    }
    type_ = ev.LIMIT_EXCEEDED if kind is AlertKind.LIMIT_REACHED else ev.LIMIT_APPROACHING
    return emit(conn, type_, data, [policy.budget_id], now)


def allocation_denied(conn: Connection, denial, now) -> Event:
    """``budget.limit_exceeded`` for a hard limit that refused (once per policy window)."""
    data = {"reason": "denied", **denial.to_dict()}
    return emit(conn, ev.LIMIT_EXCEEDED, data, [denial.budget_id], now)


def forecast_exceeds(conn: Connection, forecast, first, limit_kinds: list[str]) -> Event:
    """``budget.forecast_exceeds``: a window's projection passes a limit it has not
    reached yet (``first``: the projection named, USD before tokens), once per window."""
    data = {
        "budget_id": forecast.budget_id,
        "policy_id": forecast.policy_id,
        "policy_name": forecast.policy_name,
        "window": forecast.window,
        "limit_kind": first.unit,
        "limit_kinds": list(limit_kinds),
        "limit": _money(first.limit),
        "used": _money(first.used),
        "projected": _money(first.projected),
        "projected_share": _money(first.projected_share),
        "exceeds_at": _when(first.exceeds_at),
        "resets_at": _when(forecast.resets_at),
        "forecast": forecast.to_dict(),
    }
    return emit(conn, ev.FORECAST_EXCEEDS, data, [forecast.budget_id], forecast.as_of)


def unpriced_model(conn: Connection, provider: str, model: str, now) -> Event:
    """``price.unpriced_model``: once per model and day, like its alert."""
    data = {"provider": provider, "model": model}
    return emit(conn, ev.UNPRICED_MODEL, data, (), now)


def price_changed(conn: Connection, change, now) -> Event:
    """``budget.price_update``: a refresh changed a price, or an override was set or cleared."""
    data = {
        "provider": change.provider,
        "model": change.model,
        "action": change.action,
        "verification": change.verification,
        "sources": list(change.sources),
        "kinds": change.kinds,
        "old_price_id": change.old_price_id,
        "new_price_id": change.new_price_id,
    }
    return emit(conn, ev.PRICE_UPDATE, data, (), now)


def price_conflict(conn: Connection, details: dict[str, Any], now) -> Event:
    """``price.conflict``: sources disagree; the current price was kept."""
    return emit(conn, ev.PRICE_CONFLICT, dict(details), (), now)


def price_override(conn: Connection, price, action: str, old_id, new_id, now) -> Event:
    """``budget.price_update`` for a manual override set (``override_set``) or cleared."""
    data = {
        "provider": price.provider,
        "model": price.model,
        "action": action,
        "verification": "override",
        "sources": ["manual"],
        "rates": price_to_dict(price).get("rates", {}) if new_id is not None else {},
        "old_price_id": old_id,
        "new_price_id": new_id,
    }
    return emit(conn, ev.PRICE_UPDATE, data, (), now)
