"""Budgets: create, read, update, delete (their policies: ``policies.py``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.models import Budget
from budget.engine.context import POLICIES, EngineContext, bump_version
from budget.errors import Conflict, NotFound
from budget.storage import tables as t
from budget.storage.mapping import row_to_budget
from budget.storage.sql import new_id

_UNSET: Any = object()


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
        "metadata_": v.metadata("metadata", metadata),
    }
    now = utcnow()
    budget_id = new_id("bud")
    try:
        with ctx.db.write() as conn:
            _check_name_free(conn, name)
            conn.execute(
                insert(t.budgets).values(
                    id=budget_id,
                    created_at=now,
                    updated_at=now,
                    deleted_at=None,
                    **_budget_columns(values),
                )
            )
            bump_version(conn, POLICIES)
    except IntegrityError:
        raise Conflict("name", name, "a budget with this name already exists") from None
    return get_budget(ctx, budget_id)


def _budget_columns(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "metadata_" in out:
        out["metadata"] = out.pop("metadata_")
    return out


def _check_name_free(conn: Connection, name: str, except_id: str | None = None) -> None:
    query = select(t.budgets.c.id).where(t.budgets.c.name == name, t.budgets.c.deleted_at.is_(None))
    if except_id:
        query = query.where(t.budgets.c.id != except_id)
    if conn.execute(query).first():
        raise Conflict("name", name, "a budget with this name already exists")


def get_budget(ctx: EngineContext, budget_id: str) -> Budget:
    with ctx.db.read() as conn:
        return row_to_budget(budget_row(conn, budget_id))


def budget_row(conn: Connection, budget_id: str):
    row = conn.execute(
        select(t.budgets).where(t.budgets.c.id == budget_id, t.budgets.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound("budget", "budget_id", budget_id)
    return row


def find_budget(ctx: EngineContext, name: str) -> Budget:
    """A live budget by its name."""
    with ctx.db.read() as conn:
        row = conn.execute(
            select(t.budgets).where(t.budgets.c.name == name, t.budgets.c.deleted_at.is_(None))
        ).first()
    if row is None:
        raise NotFound("budget", "name", name)
    return row_to_budget(row)


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
    query = select(t.budgets).where(t.budgets.c.deleted_at.is_(None))
    if budget_ids is not None:
        query = query.where(t.budgets.c.id.in_(list(budget_ids)))
    if owner is not None:
        query = query.where(t.budgets.c.owner == owner)
    if active is not None:
        query = query.where(t.budgets.c.active.is_(bool(active)))
    with ctx.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(t.budgets.c.name).limit(limit).offset(offset)).all()
    return [row_to_budget(r) for r in rows], total


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
    try:
        with ctx.db.write() as conn:
            budget_row(conn, budget_id)
            if "name" in values:
                _check_name_free(conn, values["name"], except_id=budget_id)
            if values:
                conn.execute(
                    update(t.budgets)
                    .where(t.budgets.c.id == budget_id)
                    .values(updated_at=utcnow(), **values)
                )
                bump_version(conn, POLICIES)
    except IntegrityError:
        raise Conflict(
            "name", values.get("name"), "a budget with this name already exists"
        ) from None
    return get_budget(ctx, budget_id)


def delete_budget(ctx: EngineContext, budget_id: str) -> None:
    """Soft delete: the budget and its policies stop applying; the ledger stays."""
    now = utcnow()
    with ctx.db.write() as conn:
        budget_row(conn, budget_id)
        conn.execute(
            update(t.budgets)
            .where(t.budgets.c.id == budget_id)
            .values(deleted_at=now, updated_at=now, active=False)
        )
        conn.execute(
            update(t.policies)
            .where(t.policies.c.budget_id == budget_id, t.policies.c.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, enabled=False)
        )
        bump_version(conn, POLICIES)
