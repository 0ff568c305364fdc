"""Reading the ledger: one record, a page of records, their sums, an export's pages.

Every read takes a :class:`UsageFilter` the engine has already checked; the
SQL it becomes (attribute equalities, a time range, what a budget's policies
cover) is built here. Pages are newest first and counted; an export reads
oldest first in keyset pages after an (occurred_at, id) cursor, so memory
stays bounded whatever the ledger's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, case, func, or_, select

from budget.domain.models import Policy, UsageRecord
from budget.storage import tables as t
from budget.storage.coverage import covered_by
from budget.storage.mapping import row_to_usage

if TYPE_CHECKING:
    from budget.storage.unit import Unit

U = t.usage_records.c

#: Usage filter name -> ledger column.
_FILTER_COLUMNS = {
    "component": U.component,
    "project": U.project,
    "user": U.user_id,
    "api_key": U.api_key,
    "provider": U.provider,
    "model": U.model,
    "context_id": U.context_id,
    "allocation_id": U.allocation_id,
    "task_type": U.task_type,
    # usage, void or adjust; and the corrections of one record
    "kind": U.kind,
    "corrects_id": U.corrects_id,
}
#: The attributes the ledger can be filtered by (equality).
FILTER_NAMES = frozenset(_FILTER_COLUMNS)
#: The scope fields a policy matches a ledger row by (tier and tags aside).

#: Where an export stands: the (occurred_at, id) of the last record it read.
ExportCursor = tuple[Any, str]


@dataclass(frozen=True)
class UsageFilter:
    """Which ledger rows a read is about (every part optional)."""

    #: (filter name, value) pairs, each an equality; names from :data:`FILTER_NAMES`.
    equals: tuple[tuple[str, Any], ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    priced: bool | None = None
    #: A budget's policies: only the usage one of them covers (None: no budget).
    covered_by: tuple[Policy, ...] | None = None


class Usage:
    """The ledger's reads (see the module docstring)."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def get(self, usage_id: str) -> UsageRecord | None:
        """One ledger record, or None."""
        row = self.tx.execute(select(t.usage_records).where(U.id == usage_id)).first()
        return None if row is None else row_to_usage(row)

    def page(self, wanted: UsageFilter, limit: int, offset: int) -> tuple[list[UsageRecord], int]:
        """A page of matching records, newest first, and how many match in all."""
        query = self._query(wanted)
        total = self.tx.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.tx.execute(
            query.order_by(U.occurred_at.desc(), U.id).limit(limit).offset(offset)
        ).all()
        return [row_to_usage(r) for r in rows], total

    def totals(
        self, wanted: UsageFilter, records_of_kind: Mapping[str, int]
    ) -> tuple[int, int, int, int]:
        """(records, tokens, cost in nanos, unpriced records) of the matching
        rows; a row counts ``records_of_kind[its kind]`` records (usage: 1)."""
        query = self._query(wanted).subquery()
        weight = case(
            *((query.c.kind == kind, n) for kind, n in records_of_kind.items() if kind != "usage"),
            else_=records_of_kind.get("usage", 1),
        )
        row = self.tx.execute(
            select(
                func.coalesce(func.sum(weight), 0),
                func.coalesce(func.sum(query.c.total_tokens), 0),
                func.coalesce(func.sum(query.c.cost_nanos), 0),
                func.coalesce(func.sum(case((query.c.priced.is_(False), weight), else_=0)), 0),
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def export_page(
        self, wanted: UsageFilter, after: ExportCursor | None, size: int
    ) -> tuple[list[UsageRecord], ExportCursor | None]:
        """Up to ``size`` matching records, oldest first, after the cursor; and
        the cursor of the last one (None when none was read)."""
        query = self._query(wanted)
        if after is not None:
            at, key = after
            query = query.where(or_(U.occurred_at > at, and_(U.occurred_at == at, U.id > key)))
        rows = self.tx.execute(query.order_by(U.occurred_at, U.id).limit(size)).all()
        cursor = (rows[-1].occurred_at, rows[-1].id) if rows else None
        return [row_to_usage(r) for r in rows], cursor

    def _query(self, wanted: UsageFilter) -> Select:
        query = select(t.usage_records)
        for name, value in wanted.equals:
            if value is not None:
                query = query.where(_FILTER_COLUMNS[name] == value)
        if wanted.since:
            query = query.where(U.occurred_at >= wanted.since)
        if wanted.until:
            query = query.where(U.occurred_at < wanted.until)
        if wanted.priced is not None:
            query = query.where(U.priced.is_(bool(wanted.priced)))
        if wanted.covered_by is not None:
            query = query.where(covered_by(list(wanted.covered_by), self.tx.is_sqlite))
        return query
