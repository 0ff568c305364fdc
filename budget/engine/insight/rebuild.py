"""Rebuild the rollups from the ledger, one UTC day at a time, and check they agree.

For each day that has usage (or rollup rows), SQL sums the ledger per hour,
dimensions, tag set and priced flag; those sums go through the same cube
derivation as the write path (:class:`~budget.engine.insight.rollups.Accumulator`);
the result is compared with the stored rows of that day and, unless only
checking, replaces them when they differ. On PostgreSQL each day's transaction
holds ``LOCK TABLE usage_rollups IN EXCLUSIVE MODE`` (reports go on; usage
writers wait for that day's work, typically well under a second), so no
record can slip between the ledger read and the rollup write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    inspect,
    literal,
    or_,
    select,
)

from budget.domain.money import nanos_to_usd
from budget.engine.context import EngineContext
from budget.engine.insight.rollups import (
    COLUMNS,
    COUNTERS,
    EPOCH,
    KEY,
    Accumulator,
    epoch_hour,
    records_weight,
)
from budget.storage import tables as t
from budget.storage.retention import ledger_pruned_before
from budget.storage.tables_insight import usage_rollups
from budget.storage.unit import connection

R = usage_rollups.c
U = t.usage_records.c
DAY = timedelta(days=1)


@dataclass
class RebuildReport:
    """What a rebuild found: the ledger's totals, and whether the rollups agreed."""

    check_only: bool
    days: int = 0
    ledger_records: int = 0
    ledger_tokens: int = 0
    ledger_cost_nanos: int = 0
    stored_rows: int = 0
    rollup_rows: int = 0
    mismatched_rows: int = 0
    mismatched_days: list[str] = field(default_factory=list)
    repaired: bool = False
    seconds: float = 0.0

    @property
    def agreed(self) -> bool:
        """True when every stored rollup row equalled the ledger's sum."""
        return self.mismatched_rows == 0

    @property
    def ledger_cost(self) -> Decimal:
        return nanos_to_usd(self.ledger_cost_nanos)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, money as a decimal string."""
        return {
            "check_only": self.check_only,
            "agreed": self.agreed,
            "repaired": self.repaired,
            "days": self.days,
            "ledger_records": self.ledger_records,
            "ledger_tokens": self.ledger_tokens,
            "ledger_cost": format(self.ledger_cost, "f"),
            "stored_rows": self.stored_rows,
            "rollup_rows": self.rollup_rows,
            "mismatched_rows": self.mismatched_rows,
            "mismatched_days": list(self.mismatched_days[:100]),
            "seconds": round(self.seconds, 3),
        }


def rebuild_rollups(ctx: EngineContext, *, check_only: bool = False) -> RebuildReport:
    """Recompute every day's rollups from the ledger; repair what differs."""
    started = time.perf_counter()
    report = RebuildReport(check_only=check_only)
    with ctx.db.read() as conn:
        days = usage_days(conn)
    for day in days:
        ctx.db.run_write(lambda conn, day=day: _day(conn, day, check_only, report, lock=True))
    report.seconds = time.perf_counter() - started
    return report


def rebuild_on_connection(conn: Connection, *, check_only: bool = False) -> RebuildReport:
    """The same, inside the caller's transaction (the migration that adds the
    rollups, which runs before the ledger has corrections)."""
    started = time.perf_counter()
    report = RebuildReport(check_only=check_only)
    corrections = "kind" in {
        c["name"] for c in inspect(connection(conn)).get_columns("usage_records")
    }
    for day in usage_days(conn):
        _day(conn, day, check_only, report, lock=False, corrections=corrections)
    report.seconds = time.perf_counter() - started
    return report


def usage_days(conn: Connection) -> list[int]:
    """Start hours of the UTC days with ledger records or rollup rows, in order;
    never a day whose ledger was pruned (its rollups are all that is left of it)."""
    days = set(
        conn.execute(
            select(R.start_hour).where(R.cube == "model", R.span_hours == 24).distinct()
        ).scalars()
    )
    cursor: datetime | None = None
    while True:
        query = select(func.min(U.occurred_at))
        if cursor is not None:
            query = query.where(U.occurred_at >= cursor)
        first = conn.execute(query).scalar()
        if first is None:
            break
        day = epoch_hour(first) // 24 * 24
        days.add(day)
        cursor = EPOCH + timedelta(hours=day) + DAY
    pruned = ledger_pruned_before(conn)
    return sorted(d for d in days if pruned is None or d >= pruned)


def _day(
    conn: Connection,
    day: int,
    check_only: bool,
    report: RebuildReport,
    lock: bool,
    corrections: bool = True,
) -> None:
    if lock and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE usage_rollups IN EXCLUSIVE MODE")
    computed = _from_ledger(conn, day, report, corrections)
    stored = _stored(conn, day)
    wanted = {k: tuple(row[c] for c in COUNTERS) for k, row in computed.rows.items()}
    differ = sum(1 for k in wanted.keys() | stored.keys() if wanted.get(k) != stored.get(k))
    report.days += 1
    report.stored_rows += len(stored)
    report.rollup_rows += len(wanted)
    if not differ:
        return
    report.mismatched_rows += differ
    report.mismatched_days.append((EPOCH + timedelta(hours=day)).date().isoformat())
    if check_only:
        return
    conn.execute(delete(usage_rollups).where(_day_rows(day)))
    computed.write(conn, upsert=False, corrections=corrections)
    report.repaired = True


def _day_rows(day: int):
    return or_(
        and_(R.span_hours == 1, R.start_hour >= day, R.start_hour < day + 24),
        and_(R.span_hours == 24, R.start_hour == day),
    )


def _stored(conn: Connection, day: int) -> dict[tuple, tuple[int, ...]]:
    rows = conn.execute(
        select(*(R[k] for k in KEY), *(R[c] for c in COUNTERS)).where(_day_rows(day))
    )
    n = len(KEY)
    return {tuple(r[:n]): tuple(int(x) for x in r[n:]) for r in rows}


def _from_ledger(
    conn: Connection, day: int, report: RebuildReport, corrections: bool = True
) -> Accumulator:
    start = EPOCH + timedelta(hours=day)
    hour = _hour_sql(conn)
    dims = [U[c] for c in COLUMNS.values()]
    cost = func.sum(case((U.priced.is_(True), func.coalesce(U.cost_nanos, 0)), else_=0))
    stmt = (
        select(
            hour,
            *dims,
            cast(U.tags, Text),
            U.priced,
            U.kind if corrections else literal("usage"),
            func.sum(records_weight()) if corrections else func.count(),
            *(func.sum(U[c]) for c in COUNTERS[1:-1]),
            cost,
        )
        .where(U.occurred_at >= start, U.occurred_at < start + DAY)
        .group_by(hour, *dims, cast(U.tags, Text), U.priced, *([U.kind] if corrections else []))
    )
    acc = Accumulator()
    names = list(COLUMNS)
    for row in conn.execute(stmt):
        values = tuple(row)
        dim_values = {name: values[1 + i] or "" for i, name in enumerate(names)}
        index = 1 + len(names)
        tags = sorted(_tags(values[index]))
        priced = bool(values[index + 1])
        correction = (values[index + 2] or "usage") != "usage"
        counters = tuple(int(x or 0) for x in values[index + 3 :])
        acc.add_group(dim_values, tags, priced, int(values[0]), counters, correction=correction)
        report.ledger_records += counters[0]
        report.ledger_tokens += counters[1] + counters[2]
        report.ledger_cost_nanos += counters[-1]
    return acc


def _tags(raw: str | None) -> list[str]:
    import json

    return list(json.loads(raw)) if raw else []


def _hour_sql(conn: Connection):
    """Hours since the epoch of ``occurred_at``, floored, in SQL."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", U.occurred_at) / 3600), BigInteger)
    seconds = cast(func.strftime("%s", U.occurred_at), BigInteger)
    return case((seconds >= 0, seconds // 3600), else_=(seconds - 3599) // 3600)
