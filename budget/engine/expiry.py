"""Closing allocations: release by the caller, or expiry past their deadline.

Either way what the allocation held and did not use goes back to its windows,
exactly once: the allocation row is locked and re-read before anything moves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, select, update

from budget.domain.enums import AlertKind, AllocationStatus, Severity
from budget.engine.alerts import raise_alert
from budget.engine.windows import return_reserved
from budget.events import emit as events
from budget.storage import tables as t
from budget.storage.sql import lock_rows

A = t.allocations.c
AW = t.allocation_windows.c
ACTIVE = AllocationStatus.ACTIVE.value
_BY_ID = select(t.allocations).where(A.id == bindparam("aid"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_WINDOW_IDS = select(AW.window_id).where(AW.allocation_id == bindparam("aid"))
_CLOSE = (
    update(t.allocations)
    .where(A.id == bindparam("aid"))
    .values(
        status=bindparam("status"),
        closed_at=bindparam("closed_at"),
        tokens_remaining=0,
        nanos_remaining=0,
    )
)


def locked_allocation(conn: Connection, allocation_id: str) -> Row | None:
    """The allocation row, locked for this transaction (PostgreSQL)."""
    query = _BY_ID_LOCKED if conn.dialect.name == "postgresql" else _BY_ID
    return conn.execute(query, {"aid": allocation_id}).first()


def allocation_window_ids(conn: Connection, allocation_id: str) -> list[int]:
    return sorted(conn.execute(_WINDOW_IDS, {"aid": allocation_id}).scalars())


def close_allocation(conn: Connection, row: Row, status: AllocationStatus, now: datetime) -> bool:
    """Return the unused reservation and close the allocation; False if it was
    already closed."""
    if row.status != ACTIVE:
        return False
    window_ids = allocation_window_ids(conn, row.id)
    lock_rows(conn, t.windows, window_ids)
    return_reserved(conn, window_ids, row.tokens_remaining, row.nanos_remaining)
    conn.execute(_CLOSE, {"aid": row.id, "status": status.value, "closed_at": now})
    events.allocation_closed(conn, row, status, window_ids, now)
    return True


def expire_allocations(
    conn: Connection, now: datetime, *, window_id: int | None = None, limit: int = 500
) -> int:
    """Expire active allocations past their deadline (those holding one window,
    or any); returns how many were expired.

    On PostgreSQL the allocations are locked first, skipping any another
    transaction holds (it is releasing or using it, and will expire it on
    access), then all their windows in id order: the order every writer uses,
    so a sweep and a release never wait on each other in a circle.
    """
    query = select(A.id).where(A.status == ACTIVE, A.expires_at <= now)
    if window_id is not None:
        query = query.where(A.id.in_(select(AW.allocation_id).where(AW.window_id == window_id)))
    candidates = conn.execute(query.order_by(A.expires_at).limit(limit)).scalars().all()
    if not candidates:
        return 0
    rows = conn.execute(_locked_active(conn), {"ids": sorted(candidates)}).all()
    windows = conn.execute(_WINDOWS_OF, {"ids": [r.id for r in rows]}).scalars().all()
    lock_rows(conn, t.windows, sorted(set(windows)))
    expired = 0
    for row in rows:
        if close_allocation(conn, row, AllocationStatus.EXPIRED, now):
            expired += 1
            expiry_alert(conn, row, now)
    return expired


_ACTIVE_BY_IDS = (
    select(t.allocations)
    .where(A.id.in_(bindparam("ids", expanding=True)), A.status == ACTIVE)
    .order_by(A.id)
)
_ACTIVE_BY_IDS_LOCKED = _ACTIVE_BY_IDS.with_for_update(skip_locked=True)
_WINDOWS_OF = select(AW.window_id).where(AW.allocation_id.in_(bindparam("ids", expanding=True)))


def _locked_active(conn: Connection):
    return _ACTIVE_BY_IDS_LOCKED if conn.dialect.name == "postgresql" else _ACTIVE_BY_IDS


def expire_if_due(conn: Connection, row: Row, now: datetime) -> Row:
    """On access: an allocation past its deadline is expired before use."""
    if row.status == ACTIVE and row.expires_at <= now:
        if close_allocation(conn, row, AllocationStatus.EXPIRED, now):
            expiry_alert(conn, row, now)
        return conn.execute(_BY_ID, {"aid": row.id}).one()
    return row


def expiry_alert(conn: Connection, row, now: datetime) -> None:
    """The alert of an allocation that expired unreleased."""
    # One alert per context and day: enough to spot a caller that never
    # releases, without an alert per forgotten allocation.
    raise_alert(
        conn,
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
