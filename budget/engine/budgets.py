"""Budgets: create, read, update, delete (their policies: ``policies.py``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.models import Budget
from budget.engine.context import POLICIES, EngineContext, bump_version
from budget.errors import Conflict, NotFound
from budget.storage.unit import Unit

_UNSET: Any = object()
NAME_TAKEN = "a budget with this name already exists"


def create_budget(
    ctx: EngineContext,
    name: str,
    description: str | None = None,
    owner: str | None = None,
    active: bool = True,
    metadata: dict[str, Any] | None = None,
) -> Budget:
    """A new, empty budget; its name is unique among live budgets."""
    name = v.text("name", name, required=True, max_len=200)
    values = {
        "name": name,
        "description": v.text("description", description, max_len=4000),
        "owner": v.text("owner", owner, max_len=200),
        "active": v.flag("active", active),
        "metadata": v.metadata("metadata", metadata),
    }
    with ctx.db.write() as tx:
        _check_name_free(tx, name)
        budget_id = tx.budgets.insert(values, utcnow())
        bump_version(tx, POLICIES)
    return get_budget(ctx, budget_id)


def _check_name_free(tx: Unit, name: str, except_id: str | None = None) -> None:
    if tx.budgets.name_taken(name, except_id):
        raise Conflict("name", name, NAME_TAKEN)


def get_budget(ctx: EngineContext, budget_id: str) -> Budget:
    with ctx.db.read() as tx:
        return live_budget(tx, budget_id)


def live_budget(tx: Unit, budget_id: str) -> Budget:
    """The live budget with this id, in the caller's transaction; NotFound if none."""
    budget = tx.budgets.get(budget_id)
    if budget is None:
        raise NotFound("budget", "budget_id", budget_id)
    return budget


def find_budget(ctx: EngineContext, name: str) -> Budget:
    """A live budget by its name."""
    with ctx.db.read() as tx:
        budget = tx.budgets.find(name)
    if budget is None:
        raise NotFound("budget", "name", name)
    return budget


def list_budgets(
    ctx: EngineContext,
    *,
    owner: str | None = None,
    active: bool | None = None,
    budget_ids: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Budget], int]:
    """Live budgets (only ``budget_ids`` when given), ordered by name, and how
    many there are in all."""
    limit, offset = v.page(limit, offset)
    with ctx.db.read() as tx:
        return tx.budgets.page(
            owner=owner, active=active, budget_ids=budget_ids, limit=limit, offset=offset
        )


def update_budget(
    ctx: EngineContext,
    budget_id: str,
    *,
    name: Any = _UNSET,
    description: Any = _UNSET,
    owner: Any = _UNSET,
    active: Any = _UNSET,
    metadata: Any = _UNSET,
) -> Budget:
    """Change the given fields; the others stay as they are."""
    values: dict[str, Any] = {}
    if name is not _UNSET:
        values["name"] = v.text("name", name, required=True, max_len=200)
    if description is not _UNSET:
        values["description"] = v.text("description", description, max_len=4000)
    if owner is not _UNSET:
        values["owner"] = v.text("owner", owner, max_len=200)
    if active is not _UNSET:
        values["active"] = v.flag("active", active)
    if metadata is not _UNSET:
        values["metadata"] = v.metadata("metadata", metadata)
    with ctx.db.write() as tx:
        live_budget(tx, budget_id)
        if "name" in values:
            _check_name_free(tx, values["name"], except_id=budget_id)
        if values:
            tx.budgets.update(budget_id, values, utcnow())
            bump_version(tx, POLICIES)
    return get_budget(ctx, budget_id)


def delete_budget(ctx: EngineContext, budget_id: str) -> None:
    """Soft delete: the budget and its policies stop applying; the ledger stays."""
    now = utcnow()
    with ctx.db.write() as tx:
        live_budget(tx, budget_id)
        tx.budgets.soft_delete(budget_id, now)
        tx.policies.soft_delete_of_budget(budget_id, now)
        bump_version(tx, POLICIES)
