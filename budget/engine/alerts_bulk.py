"""Acknowledging many alerts at once: by ids, or every open alert a filter selects.

One UPDATE does it: only alerts not yet acknowledged change (an alert keeps
its first acknowledgement), so running the same acknowledgement twice marks
nothing the second time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.enums import AlertKind
from budget.domain.limits import KEY_LENGTH
from budget.engine.context import EngineContext
from budget.errors import ValidationError
from budget.storage import tables as t

L = t.alerts.c
MAX_IDS = 1000


def acknowledge_alerts(
    ctx: EngineContext,
    by: Any,
    *,
    alert_ids: Any = None,
    all: bool = False,  # shadows the builtin on purpose: the name people type (--all)
    kind: Any = None,
    budget_id: Any = None,
    before: Any = None,
) -> int:
    """Acknowledge the open alerts chosen; returns how many were acknowledged now.

    ``alert_ids`` names alerts; ``kind``, ``budget_id`` and ``before`` (created
    before that instant) select them; given together, an alert must pass every
    one. ``all=True`` is needed to acknowledge every open alert without a filter.
    """
    who = v.text("acknowledged_by", by, required=True, max_len=200)
    ids = _ids(alert_ids)
    conditions = [L.acknowledged_at.is_(None)]
    if ids is not None:
        conditions.append(L.id.in_(ids))
    if kind is not None:
        conditions.append(L.kind == v.choice("kind", kind, AlertKind).value)
    if budget_id is not None:
        conditions.append(L.budget_id == v.text("budget_id", budget_id, max_len=KEY_LENGTH))
    moment = v.instant("before", before)
    if moment is not None:
        conditions.append(L.created_at < moment)
    if len(conditions) == 1 and all is not True:
        raise ValidationError(
            "alert_ids",
            None,
            "name the alerts to acknowledge (ids), a filter (kind, budget_id, before) "
            "or all=true for every open alert",
        )
    stmt = update(t.alerts).where(*conditions).values(acknowledged_by=who, acknowledged_at=utcnow())
    with ctx.db.write() as conn:
        return conn.execute(stmt).rowcount or 0


def _ids(alert_ids: Any) -> list[str] | None:
    if alert_ids is None:
        return None
    if isinstance(alert_ids, str) or not isinstance(alert_ids, list | tuple):
        raise ValidationError("alert_ids", alert_ids, "must be a list of alert ids")
    if not alert_ids:
        return None
    if len(alert_ids) > MAX_IDS:
        raise ValidationError("alert_ids", len(alert_ids), f"at most {MAX_IDS} ids at once")
    return [
        v.text(f"alert_ids[{i}]", a, required=True, max_len=KEY_LENGTH) or ""
        for i, a in enumerate(alert_ids)
    ]
