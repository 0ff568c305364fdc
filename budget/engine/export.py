"""Exporting the whole ledger: every matching entry, oldest first, read in
keyset pages so memory stays bounded whatever the ledger's size.

The filters are those of :func:`budget.engine.queries.list_usage`. Each page
is its own short read transaction (an export of millions of rows holds no
transaction open); the cursor is (occurred_at, id), so a row recorded during
the export is included when it sorts after the cursor and not otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from budget.domain import validation as v
from budget.domain.models import UsageRecord
from budget.engine.context import EngineContext
from budget.engine.queries import usage_filter
from budget.storage.usage import ExportCursor, UsageFilter

PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000


def iter_usage(
    ctx: EngineContext,
    *,
    since: Any = None,
    until: Any = None,
    budget_id: str | None = None,
    priced: bool | None = None,
    page_size: int = PAGE_SIZE,
    **filters: Any,
) -> Iterator[UsageRecord]:
    """Every matching ledger entry, oldest first (corrections included).

    The filters are checked now, before the first row is read, so a bad one is
    an error here and not in the middle of a stream."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise v.ValidationError("page_size", page_size, "must be a whole number")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise v.ValidationError("page_size", page_size, f"must be from 1 to {MAX_PAGE_SIZE}")
    wanted = usage_filter(ctx, since, until, budget_id, priced, filters)
    return _pages(ctx, wanted, page_size)


def _pages(ctx: EngineContext, wanted: UsageFilter, size: int) -> Iterator[UsageRecord]:
    after: ExportCursor | None = None
    while True:
        with ctx.db.read() as tx:
            records, after = tx.usage.export_page(wanted, after, size)
        yield from records
        if len(records) < size:
            return
