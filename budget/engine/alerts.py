"""Alerts: raised once per cause (policy, window and threshold), acknowledged by people."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import AlertKind, PolicyType, Severity
from budget.domain.models import Alert, WindowCounters
from budget.domain.money import nanos_to_usd
from budget.engine.context import EngineContext
from budget.engine.windows import Target
from budget.errors import NotFound
from budget.events import emit as events
from budget.storage.alerts import ANY_BUDGET, AlertFilter
from budget.storage.unit import Unit

LIMIT = Decimal(1)


def raise_alert(
    tx: Unit,
    *,
    kind: AlertKind,
    severity: Severity,
    dedup_key: str,
    message: str,
    budget_id: str | None = None,
    policy_id: str | None = None,
    window: str | None = None,
    threshold: Decimal | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Store an alert unless one with the same dedup key exists; True if new."""
    return tx.alerts.insert_once(
        {
            "kind": kind.value,
            "severity": severity.value,
            "dedup_key": dedup_key,
            "message": message,
            "budget_id": budget_id,
            "policy_id": policy_id,
            "window_key": window,
            "threshold": None if threshold is None else str(threshold),
            "details": details or {},
            "created_at": now or utcnow(),
        }
    )


def check_thresholds(
    tx: Unit,
    target: Target,
    after: WindowCounters,
    added_tokens: int,
    added_nanos: int,
    now: datetime,
) -> None:
    """Raise an alert for each threshold the last usage crossed on this window."""
    policy = target.policy
    if policy.type is PolicyType.IGNORE:
        return
    levels: list[tuple[Decimal, AlertKind]] = [
        (thr, AlertKind.THRESHOLD_CROSSED) for thr in policy.warning_thresholds if thr < LIMIT
    ]
    if policy.action_threshold is not None and policy.action_threshold < LIMIT:
        levels.append((policy.action_threshold, AlertKind.ACTION_THRESHOLD))
    levels.append((LIMIT, AlertKind.LIMIT_REACHED))
    dims = []
    if policy.token_limit is not None:
        dims.append(("tokens", policy.token_limit, after.used_tokens, added_tokens))
    if policy.cost_limit_nanos is not None:
        dims.append(("usd", policy.cost_limit_nanos, after.used_nanos, added_nanos))
    for threshold, kind in levels:
        for dim, limit, used_after, added in dims:
            mark = threshold * limit
            if used_after - added < mark <= used_after:
                _threshold_alert(tx, target, kind, threshold, dim, limit, used_after, now)
                break


def _threshold_alert(
    tx: Unit,
    target: Target,
    kind: AlertKind,
    threshold: Decimal,
    dim: str,
    limit: int,
    used: int,
    now: datetime,
) -> None:
    policy, span = target.policy, target.span
    shown_limit = nanos_to_usd(limit) if dim == "usd" else limit
    shown_used = nanos_to_usd(used) if dim == "usd" else used
    unit = "USD" if dim == "usd" else "tokens"
    if kind is AlertKind.LIMIT_REACHED:
        severity = Severity.CRITICAL if policy.type is PolicyType.HARD_LIMIT else Severity.WARNING
        what = "reached its limit"
    else:
        severity = Severity.WARNING if kind is AlertKind.ACTION_THRESHOLD else Severity.INFO
        what = f"passed {threshold * 100:g}% of its limit"
    details = {
        "limit_kind": dim,
        "limit": str(shown_limit),
        "used": str(shown_used),
        "policy_type": policy.type.value,
        "resets_at": span.ends_at.isoformat() if span.ends_at else None,
    }
    new = raise_alert(
        tx,
        kind=kind,
        severity=severity,
        dedup_key=f"{kind.value}:{policy.policy_id}:{span.key}:{threshold}",
        message=(
            f"policy {policy.name!r} window {span.key} {what}: "
            f"{shown_used} of {shown_limit} {unit} used"
        ),
        budget_id=policy.budget_id,
        policy_id=policy.policy_id,
        window=span.key,
        threshold=threshold,
        now=now,
        details=details,
    )
    if new:
        events.threshold_crossed(tx, target, kind, threshold, details, now)


def list_alerts(
    ctx: EngineContext,
    *,
    budget_id: str | None = None,
    kind: Any = None,
    acknowledged: bool | None = None,
    since: Any = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Alerts, newest first, with the total that match."""
    selected = AlertFilter(
        budget_id=ANY_BUDGET if budget_id is None else budget_id,
        kind=None if kind is None else v.choice("kind", kind, AlertKind).value,
        acknowledged=acknowledged,
        created_since=v.instant("since", since),
    )
    limit, offset = v.page(limit, offset)
    with ctx.db.read() as tx:
        return tx.alerts.page(selected, limit, offset)


def acknowledge_alert(ctx: EngineContext, alert_id: str, by: str) -> Alert:
    """Mark an alert as seen; acknowledging twice keeps the first acknowledgement."""
    who = v.text("acknowledged_by", by, required=True, max_len=200)
    with ctx.db.write() as tx:
        alert = tx.alerts.get(alert_id)
        if alert is None:
            raise NotFound("alert", "alert_id", alert_id)
        if alert.acknowledged_at is None:
            tx.alerts.acknowledge(AlertFilter(alert_ids=[alert_id]), who, utcnow())
            alert = tx.alerts.get(alert_id)
    return alert


def record_denial(ctx: EngineContext, denied, now: datetime) -> None:
    """One ``denied`` alert (and event) per policy window a refusal names; every
    refusal counts in the denial counters (``/metrics``)."""
    with ctx.db.write() as tx:
        tx.alerts.count_denials(denied.denials, now)
        for d in denied.denials:
            new = raise_alert(
                tx,
                kind=AlertKind.DENIED,
                severity=Severity.CRITICAL,
                dedup_key=f"denied:{d.policy_id}:{d.window_key}",
                message=f"allocation denied: {d.describe()}",
                budget_id=d.budget_id,
                policy_id=d.policy_id,
                window=d.window_key,
                details=d.to_dict(),
                now=now,
            )
            if new:
                events.allocation_denied(tx, d, now)


def record_unpriced(ctx: EngineContext, unknown, now: datetime) -> None:
    """The unpriced-model alert of a refused allocation, in its own transaction."""
    with ctx.db.write() as tx:
        raise_unpriced_alert(tx, unknown.provider, unknown.model, now)


def raise_unpriced_alert(
    tx: Unit, provider: str, model: str, now: datetime, hint: str | None = None
) -> None:
    """One alert (and event) per unpriced model and day: its usage is counted but not
    costed. ``hint``: what the catalog looked for (platform, ids, fallbacks)."""
    new = raise_alert(
        tx,
        kind=AlertKind.UNPRICED_MODEL,
        severity=Severity.WARNING,
        dedup_key=f"unpriced:{provider}:{model}:{now.date().isoformat()}",
        message=(
            f"model {model!r} of provider {provider!r} has no known price: its usage is "
            "recorded as unpriced (not $0) until a price is set"
            + ("" if hint is None else f" ({hint})")
        ),
        details={"provider": provider, "model": model} | ({} if hint is None else {"hint": hint}),
        now=now,
    )
    if new:
        events.unpriced_model(tx, provider, model, now)
