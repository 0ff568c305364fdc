"""Acknowledging many alerts at once: by ids, or every open alert a filter selects.

One UPDATE does it: only alerts not yet acknowledged change (an alert keeps
its first acknowledgement), so running the same acknowledgement twice marks
nothing the second time.
"""

from __future__ import annotations

from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import AlertKind
from budget.domain.limits import KEY_LENGTH
from budget.engine.context import EngineContext
from budget.errors import ValidationError
from budget.storage.alerts import ANY_BUDGET, AlertFilter

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
    selected = AlertFilter(
        alert_ids=_ids(alert_ids),
        kind=None if kind is None else v.choice("kind", kind, AlertKind).value,
        budget_id=ANY_BUDGET
        if budget_id is None
        else v.text("budget_id", budget_id, max_len=KEY_LENGTH),
        created_before=v.instant("before", before),
    )
    if selected == AlertFilter() and all is not True:
        raise ValidationError(
            "alert_ids",
            None,
            "name the alerts to acknowledge (ids), a filter (kind, budget_id, before) "
            "or all=true for every open alert",
        )
    with ctx.db.write() as tx:
        return tx.alerts.acknowledge(selected, who, utcnow())


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
