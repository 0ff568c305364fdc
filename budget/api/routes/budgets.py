"""/budgets and /policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from budget.api.deps import AdminDep, Caller, ClientDep, ServiceDep
from budget.api.schemas import (
    BudgetIn,
    BudgetOut,
    BudgetPatch,
    Page,
    PastWindowOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    SummaryOut,
)
from budget.api.strict import StrictRoute
from budget.domain.models import Budget
from budget.engine.keys import budgets_seen, sees_budget
from budget.engine.service import BudgetService
from budget.errors import NotFound

router = APIRouter(tags=["budgets"], route_class=StrictRoute)
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.post("/budgets", status_code=201, response_model=BudgetOut)
def create_budget(body: BudgetIn, svc: ServiceDep, _: AdminDep) -> BudgetOut:
    return BudgetOut.of(svc.create_budget(**body.model_dump()))


@router.get("/budgets", response_model=Page[BudgetOut])
def list_budgets(
    svc: ServiceDep,
    caller: ClientDep,
    owner: str | None = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[BudgetOut]:
    """Live budgets; a client key bound to budgets sees only those."""
    items = svc.list_budgets(
        owner=owner, active=active, budget_ids=budgets_seen(caller.key), limit=limit, offset=offset
    )
    return Page(
        items=[BudgetOut.of(b) for b in items], total=items.total, limit=limit, offset=offset
    )


def seen_budget(svc: BudgetService, caller: Caller, ref: str) -> Budget:
    """The budget ``ref`` names (its id, else its name) if the caller's key sees
    it; NotFound naming ``ref`` otherwise, as if it did not exist."""
    found = svc.resolve_budget(ref)
    if not sees_budget(caller.key, found.budget_id):
        raise NotFound("budget", "id or name", ref)
    return found


@router.get("/budgets/{budget_id}", response_model=BudgetOut)
def get_budget(budget_id: str, svc: ServiceDep, caller: ClientDep) -> BudgetOut:
    """One budget, by id or name."""
    return BudgetOut.of(seen_budget(svc, caller, budget_id))


@router.patch("/budgets/{budget_id}", response_model=BudgetOut)
def update_budget(
    budget_id: str, body: BudgetPatch, svc: ServiceDep, caller: AdminDep
) -> BudgetOut:
    """Change the fields given of a budget (by id or name)."""
    found = seen_budget(svc, caller, budget_id)
    changes = body.model_dump(exclude_unset=True)
    return BudgetOut.of(svc.update_budget(found.budget_id, **changes))


@router.delete("/budgets/{budget_id}", status_code=204)
def delete_budget(budget_id: str, svc: ServiceDep, caller: AdminDep) -> Response:
    """Delete a budget (by id or name) and its policies."""
    svc.delete_budget(seen_budget(svc, caller, budget_id).budget_id)
    return Response(status_code=204)


@router.get("/budgets/{budget_id}/summary", response_model=SummaryOut)
def budget_summary(
    budget_id: str,
    svc: ServiceDep,
    caller: ClientDep,
    top: Annotated[int, Query(ge=1, le=1000)] = 10,
    subject: Annotated[list[str] | None, Query()] = None,
) -> SummaryOut:
    """Each policy's current window; a policy with ``each`` shows its ``top``
    fullest windows, or those of ``subject`` (``?subject=user=alice``); the
    budget by id or name."""
    found = seen_budget(svc, caller, budget_id)
    return SummaryOut.of(svc.summary(found.budget_id, top, subject or None))


@router.post("/budgets/{budget_id}/policies", status_code=201, response_model=PolicyOut)
def add_policy(budget_id: str, body: PolicyIn, svc: ServiceDep, caller: AdminDep) -> PolicyOut:
    """Add a policy to a budget (by id or name)."""
    found = seen_budget(svc, caller, budget_id)
    fields = body.model_dump(exclude_unset=True)
    return PolicyOut.of(svc.add_policy(found.budget_id, **fields))


@router.get("/budgets/{budget_id}/policies", response_model=list[PolicyOut])
def list_budget_policies(budget_id: str, svc: ServiceDep, caller: ClientDep) -> list[PolicyOut]:
    """A budget's policies (the budget by id or name)."""
    found = seen_budget(svc, caller, budget_id)
    return [PolicyOut.of(p) for p in svc.list_policies(found.budget_id)]


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(svc: ServiceDep, caller: ClientDep) -> list[PolicyOut]:
    key = caller.key
    return [
        PolicyOut.of(p) for p in svc.list_policies() if key is None or sees_budget(key, p.budget_id)
    ]


def _visible_policy(svc, caller, policy_id: str):
    policy = svc.get_policy(policy_id)
    if caller.key is not None and not sees_budget(caller.key, policy.budget_id):
        raise NotFound("policy", "policy_id", policy_id)
    return policy


@router.get("/policies/{policy_id}", response_model=PolicyOut)
def get_policy(policy_id: str, svc: ServiceDep, caller: ClientDep) -> PolicyOut:
    return PolicyOut.of(_visible_policy(svc, caller, policy_id))


@router.get("/policies/{policy_id}/history", response_model=list[PastWindowOut])
def window_history(
    policy_id: str,
    svc: ServiceDep,
    caller: ClientDep,
    last: Annotated[int, Query(ge=1, le=1000)] = 12,
    subject: Annotated[list[str] | None, Query()] = None,
) -> list[PastWindowOut]:
    """The policy's last windows, newest first: used, limits and peak fill of
    each (``?subject=user=alice``: one subject's windows of an ``each`` policy)."""
    _visible_policy(svc, caller, policy_id)
    history = svc.window_history(policy_id, last, subject or None)
    return [PastWindowOut.of(w) for w in history]


@router.patch("/policies/{policy_id}", response_model=PolicyOut)
def update_policy(policy_id: str, body: PolicyPatch, svc: ServiceDep, _: AdminDep) -> PolicyOut:
    return PolicyOut.of(svc.update_policy(policy_id, **body.model_dump(exclude_unset=True)))


@router.post("/policies/{policy_id}/disable", response_model=PolicyOut)
def disable_policy(policy_id: str, svc: ServiceDep, _: AdminDep) -> PolicyOut:
    return PolicyOut.of(svc.disable_policy(policy_id))


@router.post("/policies/{policy_id}/enable", response_model=PolicyOut)
def enable_policy(policy_id: str, svc: ServiceDep, _: AdminDep) -> PolicyOut:
    return PolicyOut.of(svc.enable_policy(policy_id))


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: str, svc: ServiceDep, _: AdminDep) -> Response:
    svc.delete_policy(policy_id)
    return Response(status_code=204)
