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
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget.domain.money import nanos_to_usd
from budget.domain.rollups import COUNTERS, EPOCH
from budget.engine.context import EngineContext
from budget.engine.insight.rollups import Accumulator

if TYPE_CHECKING:
    from budget.storage.unit import Unit


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
    with ctx.db.read() as tx:
        days = tx.rollups.days()
    for day in days:
        ctx.db.run_write(lambda tx, day=day: rebuild_day(tx, day, check_only, report))
    report.seconds = time.perf_counter() - started
    return report


def rebuild_day(tx: Unit, day: int, check_only: bool, report: RebuildReport) -> None:
    """Compare the rollups of the UTC day starting at hour ``day`` with its
    ledger, add what was found to ``report`` and, unless only checking,
    replace the day's rows when they differ."""
    tx.rollups.lock_against_writers()
    computed = from_ledger(tx, day, report)
    stored = tx.rollups.stored_day(day)
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
    tx.rollups.replace_day(day, computed.sorted_rows())
    report.repaired = True


def from_ledger(tx: Unit, day: int, report: RebuildReport) -> Accumulator:
    """The day's rollup rows as the ledger says they should be (its totals added to ``report``)."""
    acc = Accumulator()
    for hour, dims, tags, priced, correction, counters in tx.rollups.ledger_day(day):
        acc.add_group(dims, tags, priced, hour, counters, correction=correction)
        report.ledger_records += counters[0]
        report.ledger_tokens += counters[1] + counters[2]
        report.ledger_cost_nanos += counters[-1]
    return acc
