"""Listing allocations: a page of them, newest first, and how many match."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from budget.domain.models import Allocation
from budget.storage import tables as t
from budget.storage.mapping import row_to_allocation

if TYPE_CHECKING:
    from budget.storage.unit import Unit

A = t.allocations.c


class AllocationReads:
    """Allocations as lists show them (the write path locks and changes them elsewhere)."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def page(
        self,
        *,
        context_id: str | None,
        status: str | None,
        api_key: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Allocation], int]:
        """Matching allocations, newest first, and how many match in all (a
        None filter matches any value)."""
        query = select(t.allocations)
        if context_id is not None:
            query = query.where(A.context_id == context_id)
        if api_key is not None:
            query = query.where(A.api_key == api_key)
        if status is not None:
            query = query.where(A.status == status)
        total = self.tx.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.tx.execute(
            query.order_by(A.created_at.desc(), A.id).limit(limit).offset(offset)
        ).all()
        return [row_to_allocation(r) for r in rows], total
