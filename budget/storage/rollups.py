"""The rollups' SQL: adding the write path's rows, and what a rebuild reads and replaces.

The write path adds rollup rows in the ledger's transaction (the upsert
itself is the ledger's: :func:`budget.storage.ledger.add_to_rollups`). A
rebuild works one UTC day at a time: it reads the ledger summed per hour,
dimensions, tag set, priced flag and kind, compares the derived rows with
the stored ones and replaces the day's rows when they differ.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Text, and_, case, cast, delete, func, or_, select

from budget.domain.rollups import (
    COLUMNS,
    COUNTERS,
    EPOCH,
    KEY,
    RECORDS_OF_KIND,
    ROW_COLUMNS,
    epoch_hour,
)
from budget.storage import tables as t
from budget.storage.batch import statements
from budget.storage.ledger import add_to_rollups
from budget.storage.retention import ledger_pruned_before
from budget.storage.tables_insight import usage_rollups

if TYPE_CHECKING:
    from budget.storage.unit import Unit

R = usage_rollups.c
U = t.usage_records.c
DAY = timedelta(days=1)
#: Rows per INSERT of a rebuilt day.
CHUNK = 5000

#: One ledger sum of a rebuild: (hour, dimension values by attribute, sorted
#: tags, priced, is a correction, the :data:`COUNTERS`).
LedgerSum = tuple[int, dict[str, str], list[str], bool, bool, tuple[int, ...]]


class Rollups:
    """The ``usage_rollups`` table: added to by the write path, rebuilt by day."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def add(self, rows: Sequence[tuple]) -> None:
        """Add rollup rows (tuples of :data:`ROW_COLUMNS`, in key order) to the
        stored ones, in this transaction (inside its pipeline, if one runs)."""
        add_to_rollups(statements(self.tx.conn), ROW_COLUMNS, KEY, COUNTERS, rows)

    def days(self) -> list[int]:
        """Start hours of the UTC days with ledger records or rollup rows, in order;
        never a day whose ledger was pruned (its rollups are all that is left of it)."""
        days = set(
            self.tx.execute(
                select(R.start_hour).where(R.cube == "model", R.span_hours == 24).distinct()
            ).scalars()
        )
        cursor: datetime | None = None
        while True:
            query = select(func.min(U.occurred_at))
            if cursor is not None:
                query = query.where(U.occurred_at >= cursor)
            first = self.tx.execute(query).scalar()
            if first is None:
                break
            day = epoch_hour(first) // 24 * 24
            days.add(day)
            cursor = EPOCH + timedelta(hours=day) + DAY
        pruned = ledger_pruned_before(self.tx)
        return sorted(d for d in days if pruned is None or d >= pruned)

    def lock_against_writers(self) -> None:
        """Hold off usage writers for the rest of this transaction (PostgreSQL;
        reports go on). SQLite's one writer at a time does so already."""
        if not self.tx.is_sqlite:
            self.tx.exec_driver_sql("LOCK TABLE usage_rollups IN EXCLUSIVE MODE")

    def ledger_day(self, day: int) -> list[LedgerSum]:
        """The ledger of the UTC day starting at hour ``day``, summed per hour,
        dimensions, tag set, priced flag and kind (usage or a correction)."""
        start = EPOCH + timedelta(hours=day)
        hour = _hour_sql(self.tx.is_sqlite)
        dims = [U[c] for c in COLUMNS.values()]
        cost = func.sum(case((U.priced.is_(True), func.coalesce(U.cost_nanos, 0)), else_=0))
        stmt = (
            select(
                hour,
                *dims,
                cast(U.tags, Text),
                U.priced,
                U.kind,
                func.sum(records_weight()),
                *(func.sum(U[c]) for c in COUNTERS[1:-1]),
                cost,
            )
            .where(U.occurred_at >= start, U.occurred_at < start + DAY)
            .group_by(hour, *dims, cast(U.tags, Text), U.priced, U.kind)
        )
        names = list(COLUMNS)
        index = 1 + len(names)
        out = []
        for row in self.tx.execute(stmt):
            values = tuple(row)
            dim_values = {name: values[1 + i] or "" for i, name in enumerate(names)}
            raw = values[index]
            tags = sorted(json.loads(raw)) if raw else []
            correction = (values[index + 2] or "usage") != "usage"
            counters = tuple(int(x or 0) for x in values[index + 3 :])
            out.append(
                (int(values[0]), dim_values, tags, bool(values[index + 1]), correction, counters)
            )
        return out

    def stored_day(self, day: int) -> dict[tuple, tuple[int, ...]]:
        """The stored rows of the day (its hours and the day itself): key -> counters."""
        rows = self.tx.execute(
            select(*(R[k] for k in KEY), *(R[c] for c in COUNTERS)).where(_day_rows(day))
        )
        n = len(KEY)
        return {tuple(r[:n]): tuple(int(x) for x in r[n:]) for r in rows}

    def replace_day(self, day: int, rows: Iterable[dict[str, Any]]) -> None:
        """Delete the day's stored rows and insert ``rows`` (mappings of every column)."""
        self.tx.execute(delete(usage_rollups).where(_day_rows(day)))
        rows = list(rows)
        for i in range(0, len(rows), CHUNK):
            self.tx.execute(usage_rollups.insert(), rows[i : i + CHUNK])


def records_weight():
    """What a ledger row adds to ``records``, in SQL: usage 1, a void -1, an adjust 0."""
    kind = U.kind
    return case(
        *((kind == name, weight) for name, weight in RECORDS_OF_KIND.items() if name != "usage"),
        else_=RECORDS_OF_KIND["usage"],
    )


def _day_rows(day: int):
    return or_(
        and_(R.span_hours == 1, R.start_hour >= day, R.start_hour < day + 24),
        and_(R.span_hours == 24, R.start_hour == day),
    )


def _hour_sql(is_sqlite: bool):
    """Hours since the epoch of ``occurred_at``, floored, in SQL."""
    if not is_sqlite:
        return cast(func.floor(func.extract("epoch", U.occurred_at) / 3600), BigInteger)
    seconds = cast(func.strftime("%s", U.occurred_at), BigInteger)
    return case((seconds >= 0, seconds // 3600), else_=(seconds - 3599) // 3600)
