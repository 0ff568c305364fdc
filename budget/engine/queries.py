"""Reading the ledger, allocations and window states; releasing allocations."""

from __future__ import annotations

from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import AllocationStatus
from budget.domain.models import Allocation, UsageRecord
from budget.domain.money import nanos_to_usd
from budget.engine.context import EngineContext
from budget.engine.expiry import expire_allocations, expire_if_due, expiry_alert, locked_allocation
from budget.engine.insight.rollups import RECORDS_OF_KIND
from budget.engine.policies import list_policies
from budget.engine.record_write import closed_event, held_allocation, pruned_allocation
from budget.errors import NotFound
from budget.storage import allocations as store_allocations
from budget.storage import windows as store_windows
from budget.storage.batch import pipeline
from budget.storage.mapping import row_to_allocation
from budget.storage.unit import Unit
from budget.storage.usage import FILTER_NAMES, UsageFilter


def release(ctx: EngineContext, allocation_id: str) -> Allocation:
    """Return what an allocation did not use; releasing twice changes nothing.
    One past its deadline is closed as expired (with its alert) instead."""
    now = utcnow()
    held = held_allocation(ctx, v.text("allocation_id", allocation_id, required=True))

    def work(conn: Unit):
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

    def work(conn: Unit):
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
    if api_key is not None:
        api_key = v.text("api_key", api_key)
    if status is not None:
        status = v.choice("status", status, AllocationStatus).value
    with ctx.db.read() as tx:
        return tx.allocation_reads.page(
            context_id=context_id, status=status, api_key=api_key, limit=limit, offset=offset
        )


def get_usage(ctx: EngineContext, usage_id: str) -> UsageRecord:
    """One ledger record."""
    with ctx.db.read() as tx:
        record = tx.usage.get(usage_id)
    if record is None:
        raise NotFound("usage record", "usage_id", usage_id)
    return record


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
    wanted = usage_filter(ctx, since, until, budget_id, priced, filters)
    with ctx.db.read() as tx:
        return tx.usage.page(wanted, limit, offset)


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
    wanted = usage_filter(ctx, since, until, budget_id, None, filters)
    with ctx.db.read() as tx:
        records, tokens, nanos, unpriced = tx.usage.totals(wanted, RECORDS_OF_KIND)
    return {
        "records": records,
        "tokens": tokens,
        "cost": nanos_to_usd(nanos),
        "unpriced_records": unpriced,
    }


def usage_filter(
    ctx: EngineContext,
    since: Any,
    until: Any,
    budget_id: str | None,
    priced: bool | None,
    filters: dict[str, Any],
) -> UsageFilter:
    """The checked filter of a ledger read (a budget's: what its policies cover)."""
    for name, value in filters.items():
        if name not in FILTER_NAMES:
            raise v.ValidationError(
                name, value, "not a usage filter; use one of " + ", ".join(sorted(FILTER_NAMES))
            )
    start, end = v.instant("since", since), v.instant("until", until)
    if start and end and end <= start:
        raise v.ValidationError("until", until, "must be after since")
    policies = None if budget_id is None else tuple(list_policies(ctx, budget_id))
    return UsageFilter(tuple(filters.items()), start, end, priced, policies)
