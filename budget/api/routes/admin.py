"""/alerts, /prices (estimate), /keys."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.schemas import Page
from budget.api.schemas_ledger import (
    AcknowledgeIn,
    AlertOut,
    KeyIn,
    KeyOut,
    NewKeyOut,
)
from budget.api.schemas_prices import EstimateIn, EstimateOut
from budget.api.strict import StrictRoute
from budget.api.times import Instant
from budget.domain.enums import AlertKind

router = APIRouter(route_class=StrictRoute)
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("/alerts", response_model=Page[AlertOut], tags=["alerts"])
def list_alerts(
    svc: ServiceDep,
    caller: ClientDep,
    budget_id: Annotated[str | None, Query(max_length=40)] = None,
    kind: AlertKind | None = None,
    acknowledged: bool | None = None,
    since: Instant | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AlertOut]:
    items = svc.list_alerts(
        budget_id=caller.budget(budget_id),
        kind=kind,
        acknowledged=acknowledged,
        since=since,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[AlertOut.of(a) for a in items], total=items.total, limit=limit, offset=offset
    )


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, tags=["alerts"])
def acknowledge(alert_id: str, body: AcknowledgeIn, svc: ServiceDep, _: AdminDep) -> AlertOut:
    return AlertOut.of(svc.acknowledge_alert(alert_id, body.by))


@router.post("/estimate", response_model=EstimateOut, tags=["prices"])
def estimate(body: EstimateIn, svc: ServiceDep, _: ClientDep) -> EstimateOut:
    """What a call would cost at the catalog price."""
    return EstimateOut.of(svc.estimate_cost(**body.model_dump(exclude_none=True)))


def _key_out(key) -> KeyOut:
    return KeyOut(**dataclasses.asdict(key))


@router.post("/keys", status_code=201, response_model=NewKeyOut, tags=["keys"])
def create_key(body: KeyIn, svc: ServiceDep, _: AdminDep) -> NewKeyOut:
    """A new API key; its secret is in this response only. A client key may be
    bound to a user, project and component (its requests carry them and may not
    claim others; its ``api_key`` is always its name) and to budgets it sees."""
    key, secret = svc.create_api_key(**body.model_dump(exclude_none=True))
    return NewKeyOut(**_key_out(key).model_dump(), secret=secret)


@router.get("/keys", response_model=list[KeyOut], tags=["keys"])
def list_keys(svc: ServiceDep, _: AdminDep) -> list[KeyOut]:
    return [_key_out(k) for k in svc.list_api_keys()]


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, tags=["keys"])
def revoke_key(key_id: str, svc: ServiceDep, _: AdminDep) -> KeyOut:
    return _key_out(svc.revoke_api_key(key_id))
