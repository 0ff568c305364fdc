"""The alerts and prices pages: the API's listings, as the API shapes them.

Alerts come from :meth:`BudgetService.list_alerts` (``GET /alerts``); prices,
their conflicts, sources and refresh runs from the price calls behind
``GET /prices``, ``/prices/conflicts``, ``/prices/sources`` and ``/prices/updates``.
"""

from __future__ import annotations

from typing import Any

from budget.api.schemas_ledger import AlertOut
from budget.api.schemas_prices import (
    PriceConflictOut,
    PriceOut,
    PriceSourceOut,
    UpdateReportOut,
)
from budget.domain.enums import AlertKind
from budget.engine.service import BudgetService
from budget.errors import ValidationError

ALERT_KINDS = tuple(k.value for k in AlertKind)
ALERT_STATES = {"open": False, "acknowledged": True, "all": None}
VERIFICATIONS = ("verified", "unverified", "corrected", "conflict", "override")
PAGE = 50


def alerts(
    svc: BudgetService,
    *,
    budget_id: str | None,
    kind: str | None,
    state: str,
    offset: int = 0,
) -> dict[str, Any]:
    """Alerts newest first, by budget, kind and state (open, acknowledged, all)."""
    if kind is not None and kind not in ALERT_KINDS:
        raise ValidationError("kind", kind, "must be one of " + ", ".join(ALERT_KINDS))
    if state not in ALERT_STATES:
        raise ValidationError("state", state, "must be open, acknowledged or all")
    items = svc.list_alerts(
        budget_id=budget_id,
        kind=kind,
        acknowledged=ALERT_STATES[state],
        limit=PAGE,
        offset=offset,
    )
    return {
        "items": [AlertOut.of(a).model_dump(mode="json") for a in items],
        "total": items.total,  # type: ignore[attr-defined]
        "offset": offset,
        "limit": PAGE,
    }


def prices(
    svc: BudgetService,
    *,
    search: str | None,
    provider: str | None,
    verification: str | None,
    offset: int = 0,
) -> dict[str, Any]:
    """The catalog (searchable), its conflicts, its sources and its last refresh runs."""
    if verification is not None and verification not in VERIFICATIONS:
        raise ValidationError(
            "verification", verification, "must be one of " + ", ".join(VERIFICATIONS)
        )
    filters = {"search": search, "provider": provider, "verification": verification}
    items = svc.list_prices(**filters, limit=PAGE, offset=offset)
    return {
        "items": [PriceOut.of(p).model_dump(mode="json") for p in items],
        "total": svc.count_prices(**filters),
        "offset": offset,
        "limit": PAGE,
        "conflicts": [
            PriceConflictOut.of(c).model_dump(mode="json") for c in svc.price_conflicts()
        ],
        "sources": [PriceSourceOut.of(s).model_dump(mode="json") for s in svc.list_price_sources()],
        "updates": [
            UpdateReportOut.of(r).model_dump(mode="json") for r in svc.list_price_updates(limit=5)
        ],
    }
