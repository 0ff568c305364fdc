"""Reading the ledger, allocations and window states; releasing allocations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, case, func, select

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.enums import AllocationStatus
from budget.domain.models import (
    Allocation,
    Policy,
    UsageRecord,
)
from budget.domain.money import nanos_to_usd
from budget.engine.context import EngineContext
from budget.engine.expiry import expire_allocations, expire_if_due, expiry_alert, locked_allocation
from budget.engine.insight.rollups import RECORDS_OF_KIND
from budget.engine.policies import list_policies
from budget.engine.record_write import closed_event, held_allocation, pruned_allocation
from budget.errors import NotFound
from budget.storage import allocations as store_allocations
from budget.storage import tables as t
from budget.storage import windows as store_windows
from budget.storage.batch import pipeline
from budget.storage.mapping import row_to_allocation, row_to_usage
from budget.storage.sql import json_list_contains

A = t.allocations.c
U = t.usage_records.c
W = t.windows.c


def release(ctx: EngineContext, allocation_id: str) -> Allocation:
    """Return what an allocation did not use; releasing twice changes nothing.
    One past its deadline is closed as expired (with its alert) instead."""
    now = utcnow()
    held = held_allocation(ctx, v.text("allocation_id", allocation_id, required=True))

    def work(conn: Connection):
        with pipeline(conn) as s:
            before = store_allocations.lock(s, held.allocation_id)
            store_windows.lock(s, held.window_ids)
            store_windows.give_back(s, held.allocation_id, held.window_ids)
            closing = store_allocations.close(s, held.allocation_id, now)
            found = s.fetchall(before)
            if not found:
                raise pruned_allocation(ctx, held.allocation_id)
            old = found[0]
            closed = s.fetchall(closing)
        if not closed:
            ctx.held.drop(held.allocation_id)
            return store_allocations.decode(old)
        new = store_allocations.decode(closed[0])
        closed_event(ctx, conn, held, new, old[store_allocations.TOKENS_REMAINING], now)
        if new.status == AllocationStatus.EXPIRED.value:
            expiry_alert(conn, store_allocations.decode(old), now)
        return new

    return row_to_allocation(ctx.db.run_write(work))


def sweep_expired(ctx: EngineContext, limit: int | None = None) -> int:
    """Expire every allocation past its deadline; for a scheduler to call."""
    batch = limit or ctx.settings.sweep_batch
    total = 0
    while True:
        done = ctx.db.run_write(lambda conn: expire_allocations(conn, utcnow(), limit=batch))
        total += done
        if done < batch:
            return total


def get_allocation(ctx: EngineContext, allocation_id: str) -> Allocation:
    """One allocation (expired on access if past its deadline)."""

    def work(conn: Connection):
        row = locked_allocation(conn, allocation_id)
        if row is None:
            raise NotFound("allocation", "allocation_id", allocation_id)
        return expire_if_due(conn, row, utcnow())

    return row_to_allocation(ctx.db.run_write(work))


def list_allocations(
    ctx: EngineContext,
    *,
    context_id: str | None = None,
    status: Any = None,
    api_key: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Allocation], int]:
    """Allocations, newest first, by context, status and the caller's api_key."""
    limit, offset = v.page(limit, offset)
    query = select(t.allocations)
    if context_id is not None:
        query = query.where(A.context_id == context_id)
    if api_key is not None:
        query = query.where(A.api_key == v.text("api_key", api_key))
    if status is not None:
        query = query.where(A.status == v.choice("status", status, AllocationStatus).value)
    with ctx.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(A.created_at.desc(), A.id).limit(limit).offset(offset)
        ).all()
    return [row_to_allocation(r) for r in rows], total


def get_usage(ctx: EngineContext, usage_id: str) -> UsageRecord:
    with ctx.db.read() as conn:
        row = conn.execute(select(t.usage_records).where(U.id == usage_id)).first()
    if row is None:
        raise NotFound("usage record", "usage_id", usage_id)
    return row_to_usage(row)


_USAGE_FILTERS = {
    "component": U.component,
    "project": U.project,
    "user": U.user_id,
    "api_key": U.api_key,
    "provider": U.provider,
    "model": U.model,
    "context_id": U.context_id,
    "allocation_id": U.allocation_id,
    "task_type": U.task_type,
    # usage, void or adjust; and the corrections of one record
    "kind": U.kind,
    "corrects_id": U.corrects_id,
}


def list_usage(
    ctx: EngineContext,
    *,
    since: Any = None,
    until: Any = None,
    budget_id: str | None = None,
    priced: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    **filters: Any,
) -> tuple[list[UsageRecord], int]:
    """Ledger entries, newest first, filtered by time, attribute or budget
    (a budget's usage is what its policies cover)."""
    limit, offset = v.page(limit, offset)
    query = usage_query(ctx, since, until, budget_id, priced, filters)
    with ctx.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(U.occurred_at.desc(), U.id).limit(limit).offset(offset)
        ).all()
    return [row_to_usage(r) for r in rows], total


def usage_totals(
    ctx: EngineContext,
    *,
    since: Any = None,
    until: Any = None,
    budget_id: str | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Sums over the ledger: records, tokens, priced cost and unpriced records.
    Corrections count in the sums; a void takes its record back (-1 record)."""
    query = usage_query(ctx, since, until, budget_id, None, filters).subquery()
    weight = case(
        *((query.c.kind == kind, n) for kind, n in RECORDS_OF_KIND.items() if kind != "usage"),
        else_=1,
    )
    with ctx.db.read() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(weight), 0),
                func.coalesce(func.sum(query.c.total_tokens), 0),
                func.coalesce(func.sum(query.c.cost_nanos), 0),
                func.coalesce(func.sum(case((query.c.priced.is_(False), weight), else_=0)), 0),
            )
        ).one()
    return {
        "records": int(row[0]),
        "tokens": int(row[1]),
        "cost": nanos_to_usd(int(row[2])),
        "unpriced_records": int(row[3]),
    }


def usage_query(
    ctx: EngineContext,
    since: Any,
    until: Any,
    budget_id: str | None,
    priced: bool | None,
    filters: dict[str, Any],
):
    query = select(t.usage_records)
    for name, value in filters.items():
        if name not in _USAGE_FILTERS:
            raise v.ValidationError(
                name, value, "not a usage filter; use one of " + ", ".join(sorted(_USAGE_FILTERS))
            )
        if value is not None:
            query = query.where(_USAGE_FILTERS[name] == value)
    start, end = v.instant("since", since), v.instant("until", until)
    if start and end and end <= start:
        raise v.ValidationError("until", until, "must be after since")
    if start:
        query = query.where(U.occurred_at >= start)
    if end:
        query = query.where(U.occurred_at < end)
    if priced is not None:
        query = query.where(U.priced.is_(bool(priced)))
    if budget_id is not None:
        query = covered_by(query, list_policies(ctx, budget_id), ctx.db.is_sqlite)
    return query


def covered_by(query, policies: list[Policy], is_sqlite: bool):
    """Usage that any of the budget's policies covers: every scope filter,
    tags included, as the policies match requests (dates aside)."""
    from sqlalchemy import and_, false, or_

    clauses = []
    for policy in policies:
        scope = policy.scope
        conds = [
            _USAGE_FILTERS[name] == getattr(scope, name)
            for name in (
                "component",
                "project",
                "user",
                "api_key",
                "provider",
                "model",
                "task_type",
            )
            if getattr(scope, name) is not None
        ]
        if scope.tier is not None:
            conds.append(U.tier == scope.tier.value)
        conds.extend(json_list_contains(U.tags, tag, is_sqlite) for tag in sorted(scope.tags))
        clauses.append(and_(*conds) if conds else U.id.is_not(None))
    return query.where(or_(*clauses) if clauses else false())
