"""/allocations, /check, /usage."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.metrics import count_allocation
from budget.api.schemas import Page, money
from budget.api.schemas_declared import declared_query
from budget.api.schemas_ledger import (
    AdjustIn,
    AllocationIn,
    AllocationOut,
    CheckIn,
    CheckOut,
    SweepOut,
    UsageBatchIn,
    UsageIn,
    UsageOut,
    UsageTotalsOut,
    VoidIn,
)
from budget.api.strict import StrictRoute
from budget.api.times import Instant
from budget.domain.enums import AllocationStatus
from budget.engine.keys import sees_allocation
from budget.errors import BudgetExceeded, Forbidden, NotFound

router = APIRouter(tags=["allocations and usage"], route_class=StrictRoute)
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Filter = Annotated[str | None, Query(max_length=300, pattern=r"^[^\x00]*$")]


def _filter(name: str) -> Any:
    """An optional query filter on the declared text field ``name`` (blank: none)."""
    return declared_query(name, min_length=0)


@router.post(
    "/allocations",
    status_code=201,
    response_model=AllocationOut,
    responses={429: {"description": "A hard limit refused (problem+json)"}},
)
def allocate(body: AllocationIn, svc: ServiceDep, caller: ClientDep) -> AllocationOut:
    """Check-and-reserve, atomically, on every matching window."""
    try:
        allocation = svc.allocate(**caller.bind(body.model_dump(exclude_none=True)))
    except BudgetExceeded:
        count_allocation("denied")
        raise
    count_allocation("granted")
    return AllocationOut.of(allocation)


@router.post("/check", response_model=CheckOut)
def check(body: CheckIn, svc: ServiceDep, caller: ClientDep) -> CheckOut:
    """Would this allocation be granted now? Reserves nothing."""
    return CheckOut.of(svc.check(**caller.bind(body.model_dump(exclude_none=True))))


@router.get("/allocations", response_model=Page[AllocationOut])
def list_allocations(
    svc: ServiceDep,
    caller: ClientDep,
    context_id: _filter("context_id") = None,
    status: AllocationStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AllocationOut]:
    """Allocations, newest first; a client key sees its own."""
    own = caller.key.name if caller.key is not None and caller.key.role != "admin" else None
    items = svc.list_allocations(
        context_id=context_id, status=status, api_key=own, limit=limit, offset=offset
    )
    return Page(
        items=[AllocationOut.of(a) for a in items], total=items.total, limit=limit, offset=offset
    )


@router.post("/allocations/sweep", response_model=SweepOut)
def sweep(svc: ServiceDep, _: ClientDep) -> SweepOut:
    """Expire every allocation past its deadline, returning what it held."""
    return SweepOut(expired=svc.sweep_expired())


@router.get("/allocations/{allocation_id}", response_model=AllocationOut)
def get_allocation(allocation_id: str, svc: ServiceDep, caller: ClientDep) -> AllocationOut:
    return AllocationOut.of(_own_allocation(svc, caller, allocation_id))


def _own_allocation(svc, caller, allocation_id: str):
    """The allocation, if this caller may see it: a client key sees its own."""
    allocation = svc.get_allocation(allocation_id)
    if not sees_allocation(caller.key, allocation):
        raise NotFound("allocation", "allocation_id", allocation_id)
    return allocation


@router.post("/allocations/{allocation_id}/release", response_model=AllocationOut)
def release(allocation_id: str, svc: ServiceDep, caller: ClientDep) -> AllocationOut:
    """Return what the allocation did not use (idempotent); a client key its own."""
    if caller.key is not None:
        _own_allocation(svc, caller, allocation_id)
    return AllocationOut.of(svc.release(allocation_id))


@router.post("/usage", status_code=201, response_model=UsageOut)
def record_usage(body: UsageIn, svc: ServiceDep, caller: ClientDep) -> UsageOut:
    """Append to the ledger; the same request_id again returns the first record."""
    return UsageOut.of(svc.record_usage(**caller.bind(body.model_dump(exclude_none=True))))


@router.post("/usage/batch", status_code=201, response_model=list[UsageOut])
def record_usage_batch(body: UsageBatchIn, svc: ServiceDep, caller: ClientDep) -> list[UsageOut]:
    """Record up to 1000 usage reports in one transaction: all or none."""
    items = []
    for index, item in enumerate(body.items):
        try:
            items.append(caller.bind(item.model_dump(exclude_none=True)))
        except Forbidden as exc:
            raise exc.for_item(index) from None
    return [UsageOut.of(u) for u in svc.record_usage_batch(items)]


@router.post("/usage/{usage_id}/void", status_code=201, response_model=UsageOut)
def void_usage(usage_id: str, body: VoidIn, svc: ServiceDep, _: AdminDep) -> UsageOut:
    """Cancel a usage record (admin): a compensating entry takes its tokens, cost
    and request off every window, rollup and report; the record stays."""
    return UsageOut.of(svc.void_usage(usage_id, **body.model_dump(exclude_none=True)))


@router.post("/usage/{usage_id}/adjust", status_code=201, response_model=UsageOut)
def adjust_usage(usage_id: str, body: AdjustIn, svc: ServiceDep, _: AdminDep) -> UsageOut:
    """Set a usage record's cost and/or token counts (admin): a compensating entry
    holds the difference from what stands now."""
    return UsageOut.of(svc.adjust_usage(usage_id, **body.model_dump(exclude_none=True)))


def ledger_filters(
    component: _filter("component") = None,
    project: _filter("project") = None,
    user: _filter("user") = None,
    api_key: _filter("api_key") = None,
    provider: _filter("provider") = None,
    model: _filter("model") = None,
    context_id: _filter("context_id") = None,
    allocation_id: _filter("allocation_id") = None,
    task_type: _filter("task_type") = None,
) -> dict[str, Any]:
    """The attribute filters of ``GET /usage``, ``/usage/totals`` and
    ``/usage/export`` (those given)."""
    values = {
        "component": component,
        "project": project,
        "user": user,
        "api_key": api_key,
        "provider": provider,
        "model": model,
        "context_id": context_id,
        "allocation_id": allocation_id,
        "task_type": task_type,
    }
    return {k: v for k, v in values.items() if v is not None}


LedgerFiltersDep = Annotated[dict[str, Any], Depends(ledger_filters)]


@router.get("/usage", response_model=Page[UsageOut])
def list_usage(
    svc: ServiceDep,
    caller: ClientDep,
    filters: LedgerFiltersDep,
    since: Instant | None = None,
    until: Instant | None = None,
    budget_id: Filter = None,
    priced: bool | None = None,
    kind: Literal["usage", "void", "adjust"] | None = None,
    corrects_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[UsageOut]:
    """Ledger entries, newest first, filtered by time, budget and attributes;
    ``kind`` (usage, void, adjust) and ``corrects_id`` find corrections."""
    items = svc.list_usage(
        since=since,
        until=until,
        budget_id=caller.budget(budget_id),
        priced=priced,
        limit=limit,
        offset=offset,
        kind=kind,
        corrects_id=corrects_id,
        **filters,
    )
    return Page(
        items=[UsageOut.of(u) for u in items], total=items.total, limit=limit, offset=offset
    )


@router.get("/usage/totals", response_model=UsageTotalsOut)
def usage_totals(
    svc: ServiceDep,
    caller: ClientDep,
    filters: LedgerFiltersDep,
    since: Instant | None = None,
    until: Instant | None = None,
    budget_id: Filter = None,
) -> UsageTotalsOut:
    """Sums over the matching ledger."""
    totals = svc.usage_totals(
        since=since,
        until=until,
        budget_id=caller.budget(budget_id),
        **filters,
    )
    return UsageTotalsOut(
        records=totals["records"],
        tokens=totals["tokens"],
        cost=money(totals["cost"]),
        unpriced_records=totals["unpriced_records"],
    )


@router.get("/usage/{usage_id}", response_model=UsageOut)
def get_usage(usage_id: str, svc: ServiceDep, caller: ClientDep) -> UsageOut:
    record = svc.get_usage(usage_id)
    if not svc.sees_usage(caller.key, record):
        raise NotFound("usage", "usage_id", usage_id)
    return UsageOut.of(record)
