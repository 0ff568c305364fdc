"""Repository of budgets: live rows by id or name, pages of them, writes.

A budget is soft deleted (``deleted_at``); only live budgets are read here,
and a live budget's name is unique (a partial unique index): a write that
breaks it becomes :class:`budget.errors.Conflict` on ``name``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from budget.domain.models import Budget
from budget.errors import Conflict
from budget.storage import tables as t
from budget.storage.mapping import row_to_budget
from budget.storage.sql import new_id
from budget.storage.unit import Unit

B = t.budgets.c
NAME_TAKEN = "a budget with this name already exists"


class Budgets:
    """Budgets in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def get(self, budget_id: str) -> Budget | None:
        """The live budget with this id, if any."""
        row = self.tx.execute(
            select(t.budgets).where(B.id == budget_id, B.deleted_at.is_(None))
        ).first()
        return None if row is None else row_to_budget(row)

    def find(self, name: str) -> Budget | None:
        """The live budget with this name, if any."""
        row = self.tx.execute(
            select(t.budgets).where(B.name == name, B.deleted_at.is_(None))
        ).first()
        return None if row is None else row_to_budget(row)

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        """Whether a live budget (other than ``except_id``) has this name."""
        query = select(B.id).where(B.name == name, B.deleted_at.is_(None))
        if except_id:
            query = query.where(B.id != except_id)
        return self.tx.execute(query).first() is not None

    def page(
        self,
        *,
        owner: str | None,
        active: bool | None,
        budget_ids: Collection[str] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Budget], int]:
        """Live budgets passing the filters, ordered by name, and how many pass."""
        query = select(t.budgets).where(B.deleted_at.is_(None))
        if budget_ids is not None:
            query = query.where(B.id.in_(list(budget_ids)))
        if owner is not None:
            query = query.where(B.owner == owner)
        if active is not None:
            query = query.where(B.active.is_(bool(active)))
        total = self.tx.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.tx.execute(query.order_by(B.name).limit(limit).offset(offset)).all()
        return [row_to_budget(r) for r in rows], total

    def insert(self, fields: dict[str, Any], now: datetime) -> str:
        """A new live budget with ``fields`` (name, description, owner, active,
        metadata); returns its id."""
        budget_id = new_id("bud")
        statement = insert(t.budgets).values(
            id=budget_id, created_at=now, updated_at=now, deleted_at=None, **fields
        )
        self._unique_name(statement, fields["name"])
        return budget_id

    def update(self, budget_id: str, fields: dict[str, Any], now: datetime) -> None:
        """Change the given fields of a budget."""
        statement = update(t.budgets).where(B.id == budget_id).values(updated_at=now, **fields)
        self._unique_name(statement, fields.get("name"))

    def soft_delete(self, budget_id: str, now: datetime) -> None:
        """Mark a budget deleted (and inactive); its rows stay."""
        self.tx.execute(
            update(t.budgets)
            .where(B.id == budget_id)
            .values(deleted_at=now, updated_at=now, active=False)
        )

    def _unique_name(self, statement: Any, name: str | None) -> None:
        """Run a write; a live name taken meanwhile is a Conflict on ``name``
        (the transaction then rolls back as the Conflict leaves it)."""
        try:
            self.tx.execute(statement)
        except IntegrityError:
            raise Conflict("name", name, NAME_TAKEN) from None
