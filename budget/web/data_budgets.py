"""The budgets page: each budget's live windows as bars, with their forecasts.

A window comes from :meth:`BudgetService.summary` (``GET /budgets/{id}/summary``),
its projection from :meth:`BudgetService.forecast` (``GET /forecast``), the
timezone and thresholds from the budget's policies. Nothing is recomputed
here except where each figure sits on its bar.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.api.schemas import BudgetOut, PolicyOut, SummaryOut
from budget.api.schemas_insight import ForecastOut
from budget.domain.periods import load_timezone
from budget.engine.service import BudgetService

#: (dimension, window's limit / used / reserved fields, forecast projection, unit)
DIMENSIONS = (
    ("cost", "cost_limit", "cost_used", "cost_reserved", "usd", "USD"),
    ("tokens", "token_limit", "tokens_used", "tokens_reserved", "tokens", "tokens"),
    ("requests", "request_limit", "requests_used", None, None, "requests"),
)


BEYOND = Decimal("1.5")


def _share(part: Decimal, whole: Decimal) -> float:
    return 0.0 if whole <= 0 else round(float(min(part / whole, Decimal(1)) * 100), 2)


def bar(
    used: Decimal,
    reserved: Decimal,
    limit: Decimal,
    thresholds: list[Decimal],
    projection: dict[str, Any] | None,
) -> dict[str, Any]:
    """Where used, reserved, the limit, the thresholds and the projection sit on
    a bar long enough for the largest of them (percentages of its length)."""
    projected = Decimal(projection["projected"]) if projection else None
    # a projection far past the limit would squash the bar: it is drawn up to
    # half the limit beyond it, and its figure is written out below the bar
    reach = min(projected, limit * BEYOND) if projected is not None else Decimal(0)
    scale = max(limit, used + reserved, reach)
    return {
        "used": used,
        "reserved": reserved,
        "limit": limit,
        "projected": projected,
        "exceeds_at": projection["exceeds_at"] if projection else None,
        "will_exceed": bool(projection and projection["will_exceed"]),
        "used_pct": _share(used, scale),
        "reserved_pct": _share(reserved, scale),
        "limit_pct": _share(limit, scale),
        "projected_pct": None if projected is None else _share(projected, scale),
        "thresholds": [{"share": t, "pct": _share(limit * t, scale)} for t in thresholds if t < 1],
        "fill": None if limit <= 0 else (used + reserved) / limit,
    }


def window_view(
    window: dict[str, Any], policy: dict[str, Any] | None, forecast: dict[str, Any] | None
) -> dict[str, Any]:
    """A window with its bars, its reset in the policy's zone and its forecast."""
    zone = policy["timezone"] if policy else "UTC"
    thresholds = [Decimal(str(t)) for t in (policy or {}).get("warning_thresholds", [])]
    bars = []
    for name, limit_f, used_f, reserved_f, unit_f, unit in DIMENSIONS:
        if window.get(limit_f) is None:
            continue
        projection = forecast[unit_f] if forecast and unit_f else None
        item = bar(
            Decimal(str(window[used_f])),
            Decimal(str(window[reserved_f])) if reserved_f else Decimal(0),
            Decimal(str(window[limit_f])),
            thresholds,
            projection,
        )
        if item["exceeds_at"] is not None:
            item["exceeds_at"] = _local(item["exceeds_at"], zone)
        bars.append({"name": name, "unit": unit, **item})
    resets = window.get("resets_at")
    return {
        **window,
        "timezone": zone,
        "resets_local": None if resets is None else _local(resets, zone),
        "bars": bars,
        "forecast": forecast,
    }


def _local(at: str | datetime, zone: str) -> datetime:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.astimezone(load_timezone(zone))


def budget_views(svc: BudgetService, budgets: list) -> list[dict[str, Any]]:
    """Every budget given, with its windows (as the summary lists them) as bars."""
    out = []
    for budget in budgets:
        summary = SummaryOut.of(svc.summary(budget.budget_id)).model_dump(mode="json")
        policies = {
            p.policy_id: PolicyOut.of(p).model_dump(mode="json")
            for p in svc.list_policies(budget.budget_id)
        }
        forecasts = {
            (f.policy_id, f.window): ForecastOut.of(f).model_dump(mode="json")
            for f in svc.forecast(budget.budget_id)
        }
        windows = [
            window_view(
                w, policies.get(w["policy_id"]), forecasts.get((w["policy_id"], w["window"]))
            )
            for w in summary["windows"]
        ]
        out.append(
            {
                "budget": BudgetOut.of(budget).model_dump(mode="json"),
                "windows": windows,
                "as_of": summary["as_of"],
            }
        )
    return out
