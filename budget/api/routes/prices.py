"""/prices: the catalog, one model's price and history, conflicts, updates, overrides.

Model ids may contain slashes (``meta-llama/llama-3``), so a model is named
by query parameters rather than by path segments.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from budget.api.deps import AdminDep, ClientDep, ServiceDep
from budget.api.schemas import Page
from budget.api.schemas_declared import declared_param, declared_query
from budget.api.schemas_prices import (
    OverrideIn,
    PriceConflictOut,
    PriceOut,
    PriceSourceOut,
    UpdateIn,
    UpdateReportOut,
)
from budget.api.strict import StrictRoute
from budget.api.times import Instant

router = APIRouter(prefix="/prices", tags=["prices"], route_class=StrictRoute)
Provider = declared_param("provider")
Model = declared_param("model")
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("", response_model=Page[PriceOut])
def list_prices(
    svc: ServiceDep,
    _: ClientDep,
    provider: declared_query("provider", min_length=0) = None,
    model: declared_query("model", min_length=0) = None,
    search: Filter = None,
    source: Filter = None,
    verification: Filter = None,
    overrides: bool | None = None,
    at: Instant | None = None,
    include_history: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[PriceOut]:
    """Prices in effect now (or at ``at``; every row with ``include_history``)."""
    filters = {
        "provider": provider,
        "model": model,
        "search": search,
        "source": source,
        "verification": verification,
        "overrides": overrides,
        "at": at,
        "include_history": include_history,
    }
    items = svc.list_prices(**filters, limit=limit, offset=offset)
    return Page(
        items=[PriceOut.of(p) for p in items],
        total=svc.count_prices(**filters),
        limit=limit,
        offset=offset,
    )


@router.get("/current", response_model=PriceOut)
def current_price(
    svc: ServiceDep, _: ClientDep, provider: Provider, model: Model, at: Instant | None = None
) -> PriceOut:
    """The price a call would be costed with now (or at ``at``)."""
    return PriceOut.of(svc.get_price(provider, model, at=at))


@router.get("/history", response_model=list[PriceOut])
def price_history(
    svc: ServiceDep, _: ClientDep, provider: Provider, model: Model
) -> list[PriceOut]:
    """Every price row of a model, oldest first."""
    return [PriceOut.of(p) for p in svc.price_history(provider, model)]


@router.get("/conflicts", response_model=list[PriceConflictOut])
def price_conflicts(svc: ServiceDep, _: ClientDep) -> list[PriceConflictOut]:
    """Models whose independent sources disagree; their current price was kept."""
    return [PriceConflictOut.of(c) for c in svc.price_conflicts()]


@router.get("/sources", response_model=list[PriceSourceOut])
def price_sources(svc: ServiceDep, _: ClientDep) -> list[PriceSourceOut]:
    return [PriceSourceOut.of(s) for s in svc.list_price_sources()]


@router.post("/update", response_model=UpdateReportOut)
def update_prices(body: UpdateIn, svc: ServiceDep, _: AdminDep) -> UpdateReportOut:
    """Refresh from every active source now (or one): added, changed, conflicts, errors."""
    return UpdateReportOut.of(svc.update_prices(body.source))


@router.get("/updates", response_model=list[UpdateReportOut])
def price_updates(
    svc: ServiceDep,
    _: ClientDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Offset = 0,
) -> list[UpdateReportOut]:
    return [UpdateReportOut.of(r) for r in svc.list_price_updates(limit=limit, offset=offset)]


@router.get("/updates/{update_id}", response_model=UpdateReportOut)
def price_update(update_id: str, svc: ServiceDep, _: ClientDep) -> UpdateReportOut:
    return UpdateReportOut.of(svc.get_price_update(update_id))


@router.put("/override", response_model=PriceOut)
def set_override(body: OverrideIn, svc: ServiceDep, _: AdminDep) -> PriceOut:
    """A manual price that always wins and that no source overwrites."""
    fields = body.model_dump(exclude={"provider", "model"}, exclude_none=True)
    return PriceOut.of(svc.set_price_override(body.provider, body.model, **fields))


@router.delete("/override", response_model=PriceOut)
def clear_override(svc: ServiceDep, _: AdminDep, provider: Provider, model: Model) -> PriceOut:
    """Remove the manual price; returns the price now in force."""
    return PriceOut.of(svc.clear_price_override(provider, model))
