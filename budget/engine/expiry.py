"""Closing allocations: release by the caller, or expiry past their deadline.

Either way what the allocation held and did not use goes back to its windows,
exactly once: the allocation row is locked and re-read before anything moves.
"""

from __future__ import annotations

from datetime import datetime

from budget.domain.enums import AlertKind, AllocationStatus, Severity
from budget.engine.alerts import raise_alert
from budget.events import emit as events
from budget.storage.unit import Unit

ACTIVE = AllocationStatus.ACTIVE.value


def locked_allocation(tx: Unit, allocation_id: str):
    """The allocation row, locked for this transaction (PostgreSQL)."""
    return tx.allocations.locked(allocation_id)


def allocation_window_ids(tx: Unit, allocation_id: str) -> list[int]:
    return tx.allocations.window_ids(allocation_id)


def close_allocation(tx: Unit, row, status: AllocationStatus, now: datetime) -> bool:
    """Return the unused reservation and close the allocation; False if it was
    already closed."""
    if row.status != ACTIVE:
        return False
    window_ids = allocation_window_ids(tx, row.id)
    tx.windows.lock_rows(window_ids)
    tx.windows.return_reserved(window_ids, row.tokens_remaining, row.nanos_remaining)
    tx.allocations.close_as(row.id, status, now)
    events.allocation_closed(tx, row, status, window_ids, now)
    return True


def expire_allocations(
    tx: Unit, now: datetime, *, window_id: int | None = None, limit: int = 500
) -> int:
    """Expire active allocations past their deadline (those holding one window,
    or any); returns how many were expired.

    On PostgreSQL the allocations are locked first, skipping any another
    transaction holds (it is releasing or using it, and will expire it on
    access), then all their windows in id order: the order every writer uses,
    so a sweep and a release never wait on each other in a circle.
    """
    candidates = tx.allocations.overdue(now, window_id=window_id, limit=limit)
    if not candidates:
        return 0
    rows = tx.allocations.lock_active(candidates)
    tx.windows.lock_rows(tx.allocations.windows_of([r.id for r in rows]))
    expired = 0
    for row in rows:
        if close_allocation(tx, row, AllocationStatus.EXPIRED, now):
            expired += 1
            expiry_alert(tx, row, now)
    return expired


def expire_if_due(tx: Unit, row, now: datetime):
    """On access: an allocation past its deadline is expired before use."""
    if row.status == ACTIVE and row.expires_at <= now:
        if close_allocation(tx, row, AllocationStatus.EXPIRED, now):
            expiry_alert(tx, row, now)
        return tx.allocations.get(row.id)
    return row


def expiry_alert(tx: Unit, row, now: datetime) -> None:
    """The alert of an allocation that expired unreleased."""
    # One alert per context and day: enough to spot a caller that never
    # releases, without an alert per forgotten allocation.
    raise_alert(
        tx,
        kind=AlertKind.ALLOCATION_EXPIRED,
        severity=Severity.INFO,
        dedup_key=f"expired:{row.context_id}:{now.date().isoformat()}",
        message=(
            f"allocation {row.id} of context {row.context_id!r} expired unreleased; "
            f"{row.tokens_remaining} unused tokens returned to its windows"
        ),
        details={
            "allocation_id": row.id,
            "context_id": row.context_id,
            "tokens_returned": row.tokens_remaining,
            "expired_at": row.expires_at.isoformat(),
        },
        now=now,
    )
