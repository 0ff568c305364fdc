"""AlertOperations: reading and acknowledging alerts, one or many at once,
mixed into BudgetService."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from budget.domain.models import Alert
from budget.engine import alerts, alerts_bulk
from budget.engine.context import EngineContext
from budget.engine.listing import Listing


class AlertOperations:
    """Alerts: list, acknowledge one, acknowledge many (``budget alerts ack``)."""

    _ctx: EngineContext

    def list_alerts(
        self,
        *,
        budget_id: str | None = None,
        kind: str | None = None,
        acknowledged: bool | None = None,
        since: datetime | str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        """Alerts, newest first, filtered by budget, kind, state and time."""
        return Listing(
            *alerts.list_alerts(
                self._ctx,
                budget_id=budget_id,
                kind=kind,
                acknowledged=acknowledged,
                since=since,
                limit=limit,
                offset=offset,
            )
        )

    def acknowledge_alert(self, alert_id: str, by: str) -> Alert:
        """Acknowledge one alert (the first acknowledgement is kept)."""
        return alerts.acknowledge_alert(self._ctx, alert_id, by)

    def acknowledge_alerts(
        self,
        by: str,
        *,
        alert_ids: Sequence[str] | None = None,
        all: bool = False,
        kind: str | None = None,
        budget_id: str | None = None,
        before: datetime | str | None = None,
    ) -> int:
        """Acknowledge open alerts by ids and/or filters (``kind``, ``budget_id``,
        created ``before``), or every open one with ``all=True``; returns how many."""
        return alerts_bulk.acknowledge_alerts(
            self._ctx,
            by,
            alert_ids=list(alert_ids) if alert_ids is not None else None,
            all=all,
            kind=kind,
            budget_id=budget_id,
            before=before,
        )
