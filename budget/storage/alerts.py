"""Alerts: stored once per dedup key, listed, acknowledged; and the denial counters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from budget.domain.models import Alert
from budget.storage import tables as t
from budget.storage.denial_counts import count_denials
from budget.storage.mapping import row_to_alert
from budget.storage.sql import insert_ignoring_conflicts, new_id
from budget.storage.unit import Unit

L = t.alerts.c
#: A filter's ``budget_id`` that selects alerts of any budget (None: of no budget).
ANY_BUDGET: Any = object()


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a listing or a bulk acknowledgement selects (None: any)."""

    alert_ids: list[str] | None = None
    kind: str | None = None
    budget_id: str | None = ANY_BUDGET
    acknowledged: bool | None = None
    created_since: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> list:
        out = []
        if self.alert_ids is not None:
            out.append(L.id.in_(self.alert_ids))
        if self.kind is not None:
            out.append(L.kind == self.kind)
        if self.budget_id is not ANY_BUDGET:
            out.append(L.budget_id == self.budget_id)
        if self.acknowledged is not None:
            acknowledged_at = L.acknowledged_at
            out.append(
                acknowledged_at.is_not(None) if self.acknowledged else acknowledged_at.is_(None)
            )
        if self.created_since is not None:
            out.append(L.created_at >= self.created_since)
        if self.created_before is not None:
            out.append(L.created_at < self.created_before)
        return out


class Alerts:
    """Alerts and denial counters in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def insert_once(self, fields: dict[str, Any]) -> bool:
        """Store an alert (its columns but the id, and the acknowledgement)
        unless one with the same dedup key exists; True if stored now."""
        stmt = insert_ignoring_conflicts(self.tx, t.alerts, index_elements=["dedup_key"]).values(
            id=new_id("alr"), acknowledged_by=None, acknowledged_at=None, **fields
        )
        return self.tx.execute(stmt.returning(L.id)).first() is not None

    def page(self, selected: AlertFilter, limit: int, offset: int) -> tuple[list[Alert], int]:
        """The alerts selected, newest first, and how many there are in all."""
        query = select(t.alerts).where(*selected.conditions())
        total = self.tx.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.tx.execute(
            query.order_by(L.created_at.desc(), L.id).limit(limit).offset(offset)
        ).all()
        return [row_to_alert(r) for r in rows], total

    def get(self, alert_id: str) -> Alert | None:
        row = self.tx.execute(select(t.alerts).where(L.id == alert_id)).first()
        return None if row is None else row_to_alert(row)

    def acknowledge(self, selected: AlertFilter, by: str, now: datetime) -> int:
        """Acknowledge the open alerts selected (an alert keeps its first
        acknowledgement); how many were acknowledged now."""
        stmt = (
            update(t.alerts)
            .where(L.acknowledged_at.is_(None), *selected.conditions())
            .values(acknowledged_by=by, acknowledged_at=now)
        )
        return self.tx.execute(stmt).rowcount or 0

    def count_denials(self, denials: Iterable, now: datetime) -> None:
        """Add one refusal per denial to the denial counters."""
        count_denials(self.tx.conn, denials, now)
