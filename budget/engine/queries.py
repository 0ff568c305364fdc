"""Reading the ledger, allocations and window states; releasing allocations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.enums import AllocationStatus, Period
from budget.domain.models import (
    Allocation,
    BudgetSummary,
    PastWindow,
    Policy,
    UsageRecord,
    WindowCounters,
    WindowStatus,
)
from budget.domain.money import nanos_to_usd
from budget.domain.periods import CALENDAR_PERIODS, WindowSpan, calendar_window, load_timezone
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.expiry import expire_allocations, expire_if_due, expiry_alert, locked_allocation
from budget.engine.policies import get_policy, list_policies
from budget.engine.record_write import closed_event, held_allocation
from budget.engine.seed import unpriced_in
from budget.engine.windows import counters_of_row, current_counters
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

#: Session and task windows never reset; a summary shows the most recent ones.
RECENT_WINDOWS = 20


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
            old = s.fetchall(before)[0]
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
    query = _usage_query(ctx, since, until, budget_id, priced, filters)
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
    """Sums over the ledger: records, tokens, priced cost and unpriced records."""
    query = _usage_query(ctx, since, until, budget_id, None, filters).subquery()
    with ctx.db.read() as conn:
        row = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(query.c.total_tokens), 0),
                func.coalesce(func.sum(query.c.cost_nanos), 0),
                func.count().filter(query.c.priced.is_(False)),
            )
        ).one()
    return {
        "records": row[0],
        "tokens": int(row[1]),
        "cost": nanos_to_usd(int(row[2])),
        "unpriced_records": row[3],
    }


def _usage_query(
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


def summary(ctx: EngineContext, budget_id: str) -> BudgetSummary:
    """Every policy of a budget with its current window: used, reserved, limit,
    remaining and when it resets."""
    budget = get_budget(ctx, budget_id)
    now = utcnow()
    ctx.db.run_write(lambda conn: expire_allocations(conn, now, limit=ctx.settings.sweep_batch))
    statuses: list[WindowStatus] = []
    with ctx.db.read() as conn:
        for policy in list_policies(ctx, budget_id):
            statuses.extend(_policy_windows(conn, policy, now))
    return BudgetSummary(budget=budget, windows=tuple(statuses), as_of=now)


def _policy_windows(conn: Connection, policy: Policy, now) -> list[WindowStatus]:
    if policy.period in CALENDAR_PERIODS or policy.period is Period.TOTAL:
        span = (
            calendar_window(policy.period, load_timezone(policy.timezone), now)
            if policy.period in CALENDAR_PERIODS
            else WindowSpan("total", None, None)
        )
        # a window not created yet shows what it will start with: the ledger's
        # spend inside it that the policy covers
        counters = current_counters(conn, policy, span)
        return [_status(policy, span, counters, now, _unpriced(conn, policy, span))]
    rows = conn.execute(
        select(t.windows)
        .where(W.policy_id == policy.policy_id, W.superseded_at.is_(None))
        .order_by(W.id.desc())
        .limit(RECENT_WINDOWS)
    ).all()
    out = []
    for r in rows:
        span = WindowSpan(r.window_key, r.starts_at, r.ends_at)
        out.append(_status(policy, span, counters_of_row(r), now, _unpriced(conn, policy, span)))
    return out


def window_history(ctx: EngineContext, policy_id: str, last: Any = 12) -> list[PastWindow]:
    """The policy's ``last`` windows, newest first, with what each used against
    the policy's limits (the limits as they are now)."""
    limit, _ = v.page(last, 0, max_limit=1000)
    policy = get_policy(ctx, policy_id)
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(t.windows)
            .where(W.policy_id == policy.policy_id)
            .order_by(W.starts_at.desc(), W.id.desc())
            .limit(limit)
        ).all()
    return [_past(policy, r) for r in rows]


def _past(policy: Policy, row) -> PastWindow:
    fill = _fill(policy, row.used_tokens, row.used_nanos)
    key = row.window_key
    if row.superseded_at is not None:  # "~<id>:<key>": show the key it had
        key = key.partition(":")[2] or key
    return PastWindow(
        window=key,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        tokens_used=row.used_tokens,
        cost_used=nanos_to_usd(row.used_nanos),
        token_limit=policy.token_limit,
        cost_limit=policy.cost_limit,
        peak_fill=None if fill is None else fill.normalize(),
        superseded_at=row.superseded_at,
    )


def _fill(policy: Policy, tokens: int, nanos: int) -> Decimal | None:
    """The larger share of its limits that ``tokens`` and ``nanos`` fill (None: no limit)."""
    shares = []
    if policy.token_limit:
        shares.append(Decimal(tokens) / policy.token_limit)
    if policy.cost_limit_nanos:
        shares.append(Decimal(nanos) / policy.cost_limit_nanos)
    return round(max(shares), 4) if shares else None


def _unpriced(conn: Connection, policy: Policy, span: WindowSpan) -> tuple[int | None, int | None]:
    """Unpriced usage in a calendar or total window with a USD limit (None
    without one, and for session and task windows, which are not summed here)."""
    if policy.cost_limit_nanos is None or policy.period in (Period.PER_SESSION, Period.PER_TASK):
        return None, None
    return unpriced_in(conn, policy, span)


def _status(
    policy: Policy, span: WindowSpan, c: WindowCounters, now, unpriced=(None, None)
) -> WindowStatus:
    tokens_left = (
        None
        if policy.token_limit is None
        else max(policy.token_limit - c.used_tokens - c.reserved_tokens, 0)
    )
    cost_left = (
        None
        if policy.cost_limit_nanos is None
        else nanos_to_usd(max(policy.cost_limit_nanos - c.used_nanos - c.reserved_nanos, 0))
    )
    return WindowStatus(
        policy_id=policy.policy_id,
        policy_name=policy.name,
        policy_type=policy.type,
        period=policy.period,
        window=span.key,
        starts_at=span.starts_at,
        resets_at=span.ends_at,
        token_limit=policy.token_limit,
        tokens_used=c.used_tokens,
        tokens_reserved=c.reserved_tokens,
        tokens_remaining=tokens_left,
        cost_limit=policy.cost_limit,
        cost_used=nanos_to_usd(c.used_nanos),
        cost_reserved=nanos_to_usd(c.reserved_nanos),
        cost_remaining=cost_left,
        utilization=_fill(policy, c.used_tokens, c.used_nanos),
        state=policy.state(now),
        unpriced_records=unpriced[0],
        unpriced_tokens=unpriced[1],
        request_limit=policy.request_limit,
        requests_used=c.used_requests,
    )
