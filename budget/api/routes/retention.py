"""/admin/prune and /alerts/acknowledge: an operator's bulk operations (admin only)."""

from __future__ import annotations

from fastapi import APIRouter

from budget.api.deps import AdminDep, ServiceDep
from budget.api.schemas_retention import AcknowledgedOut, AcknowledgeManyIn, PruneIn, PruneOut
from budget.api.strict import StrictRoute

router = APIRouter(route_class=StrictRoute)


@router.post("/admin/prune", response_model=PruneOut, tags=["admin"])
def prune(body: PruneIn, svc: ServiceDep, _: AdminDep) -> PruneOut:
    """Delete delivered events, finished webhook deliveries and closed allocations
    older than ``older_than`` and, with ``ledger``, usage records (never inside a
    live window; rollups stay, so reports keep their totals). ``dry_run`` counts
    the rows per table and deletes nothing (docs/retention.md)."""
    report = svc.prune(body.older_than, ledger=body.ledger, dry_run=body.dry_run)
    return PruneOut.of(report)


@router.post("/alerts/acknowledge", response_model=AcknowledgedOut, tags=["alerts"])
def acknowledge_many(body: AcknowledgeManyIn, svc: ServiceDep, _: AdminDep) -> AcknowledgedOut:
    """Acknowledge open alerts by ``alert_ids`` and/or filters (``kind``,
    ``budget_id``, created ``before``), or every open one with ``all``; returns
    how many were acknowledged now (one already acknowledged keeps its first)."""
    count = svc.acknowledge_alerts(
        body.by,
        alert_ids=body.alert_ids,
        all=body.all,
        kind=body.kind,
        budget_id=body.budget_id,
        before=body.before,
    )
    return AcknowledgedOut(acknowledged=count)
