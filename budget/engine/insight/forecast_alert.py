"""The ``forecast_exceeds`` alert of a window, and its ``budget.forecast_exceeds`` event.

Raised once per policy window (the alert's dedup key); the event goes to the
outbox in the same transaction, only when the alert is new, so webhooks and
SSE streams hear of each forecast crossing once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from budget.domain.enums import AlertKind, Severity
from budget.engine.alerts import raise_alert
from budget.engine.insight.projection import Forecast
from budget.events import emit as events

if TYPE_CHECKING:
    from budget.storage.unit import Unit


def raise_forecast_alert(conn: Unit, f: Forecast) -> bool:
    """Raise the window's forecast_exceeds alert (once per window) and emit its
    event; True if the alert is new."""
    dims = [p for p in (f.usd, f.tokens) if p.will_exceed]
    first = dims[0]
    unit = "USD" if first.unit == "usd" else "tokens"
    when = f" around {first.exceeds_at.isoformat()}" if first.exceeds_at else ""
    new = raise_alert(
        conn,
        kind=AlertKind.FORECAST_EXCEEDS,
        severity=Severity.WARNING,
        dedup_key=f"forecast_exceeds:{f.policy_id}:{f.window}",
        message=(
            f"policy {f.policy_name!r} window {f.window} is projected to use {first.projected} "
            f"of its {first.limit} {unit} limit by {f.resets_at.isoformat()} "
            f"({first.used} used so far; at this rate the limit is reached{when})"
        ),
        budget_id=f.budget_id,
        policy_id=f.policy_id,
        window=f.window,
        details={"forecast": f.to_dict(), "limit_kinds": [p.unit for p in dims]},
        now=f.as_of,
    )
    if new:
        events.forecast_exceeds(conn, f, first, [p.unit for p in dims])
    return new
