"""Retention: prune what Budget no longer needs, and, only when asked, the old ledger.

``prune(older_than=90d)`` deletes (docs/retention.md has the rules):

* **webhook deliveries** delivered or dead before the cut;
* **events** of the outbox created before the cut that every webhook has
  fanned out and no remaining delivery points at; the newest event always
  stays, so sequence numbers go on from it (SSE clients and webhook cursors
  resume by sequence);
* **allocations** released or expired before the cut, with their
  ``allocation_windows`` rows;
* with ``ledger=True``, **usage records** (and their corrections, which share
  their instant) that occurred before the cut rounded down to a UTC midnight,
  never inside the current window of any policy: the cut stops at the start
  of every calendar policy's current window, and the rows a ``total``,
  ``per_session`` or ``per_task`` policy covers (windows that never end) stay.
  Rollups are kept, so reports of pruned days give the same totals.

A dry run counts the same rows with the same predicates and deletes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from budget.clock import utcnow
from budget.domain.enums import Period
from budget.domain.models import Policy
from budget.domain.periods import CALENDAR_PERIODS, calendar_window, load_timezone
from budget.engine.context import EngineContext
from budget.engine.insight.rollups import epoch_hour
from budget.engine.policies import list_policies
from budget.errors import ValidationError
from budget.events.outbox import assign_sequence
from budget.storage.retention import BATCH, OldLedger
from budget.storage.unit import Unit

_RETENTION = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
#: The shortest retention a prune accepts: a typo must not wipe today's events.
MIN_RETENTION = timedelta(hours=1)
#: Periods whose windows never end: the rows such a policy covers stay.
_NEVER_ENDING = (Period.TOTAL, Period.PER_SESSION, Period.PER_TASK)
TABLES = ("webhook_deliveries", "events", "allocation_windows", "allocations", "usage_records")


def parse_retention(value: Any, field_name: str = "older_than") -> timedelta:
    """A retention period: ``90d``, ``12h``, ``2w`` (hours, days, weeks), or a
    timedelta; at least one hour."""
    if isinstance(value, timedelta):
        period = value
    else:
        match = _RETENTION.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError(
                field_name, value, "must be a whole number of hours, days or weeks: 12h, 90d, 2w"
            )
        period = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if period < MIN_RETENTION:
        raise ValidationError(field_name, str(value), "must be at least 1h")
    return period


@dataclass(frozen=True)
class PruneReport:
    """What a prune deleted (or, in a dry run, would delete), per table."""

    dry_run: bool
    ledger: bool
    older_than: timedelta
    cut: datetime
    #: Where the ledger prune stopped (UTC midnight, before every live window); None without it.
    ledger_cut: datetime | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "dry_run": self.dry_run,
            "ledger": self.ledger,
            "older_than_seconds": int(self.older_than.total_seconds()),
            "cut": self.cut.isoformat(),
            "ledger_cut": None if self.ledger_cut is None else self.ledger_cut.isoformat(),
            "counts": dict(self.counts),
            "total": self.total,
        }


def prune(
    ctx: EngineContext, older_than: Any, *, ledger: bool = False, dry_run: bool = False
) -> PruneReport:
    """Delete (or with ``dry_run`` count) what is older than ``older_than``."""
    period = parse_retention(older_than)
    if not ctx.db.is_sqlite:
        _number_events(ctx)
    now = utcnow()
    cut = now - period
    policies = list_policies(ctx) if ledger else []
    ledger_cut = live_ledger_cut(policies, cut, now) if ledger else None
    old = old_ledger_where(ctx, policies, ledger_cut, now) if ledger_cut is not None else None
    counts = _count(ctx, cut, old) if dry_run else _delete(ctx, cut, old)
    if not ledger:
        counts.pop("usage_records", None)
    if not dry_run and counts["allocations"]:
        ctx.held.clear()  # what this process remembers of pruned allocations
    return PruneReport(dry_run, ledger, period, cut, ledger_cut, counts)


def _number_events(ctx: EngineContext) -> None:
    """PostgreSQL: number every committed event first (only numbered ones can
    go), batch after batch until none is left, so a dry run and the run see
    the same events."""
    while ctx.db.run_write(assign_sequence):
        pass


def live_ledger_cut(policies: list[Policy], cut: datetime, now: datetime) -> datetime:
    """``cut``, moved back to the start of every live calendar policy's current
    window, then down to a UTC midnight (rollups of a day are all kept or all
    pruned alike)."""
    earliest = cut
    for policy in policies:
        if policy.period in CALENDAR_PERIODS and _live(policy, now):
            span = calendar_window(policy.period, load_timezone(policy.timezone), now)
            if span.starts_at is not None:
                earliest = min(earliest, span.starts_at)
    day = earliest.astimezone(UTC)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def old_ledger_where(
    ctx: EngineContext, policies: list[Policy], cut: datetime, now: datetime
) -> OldLedger:
    """Ledger rows before ``cut`` outside every window that never ends."""
    kept = tuple(p for p in policies if p.period in _NEVER_ENDING and _live(p, now))
    return OldLedger(cut, kept)


def _live(policy: Policy, now: datetime) -> bool:
    """Whether a policy (disabled ones too: they may be enabled again) has a current window."""
    return policy.ends_at is None or policy.ends_at > now


def _count(ctx: EngineContext, cut: datetime, ledger: OldLedger | None) -> dict:
    with ctx.db.read() as tx:
        upto = tx.retention.last_prunable_sequence(cut)
        return tx.retention.count_prunable(cut, upto, ledger)


def _delete(ctx: EngineContext, cut: datetime, ledger: OldLedger | None) -> dict:
    # Deliveries first: the events that only finished deliveries pointed at go next.
    deliveries = _in_batches(ctx, lambda tx: tx.retention.delete_finished_deliveries(cut))
    with ctx.db.read() as tx:
        upto = tx.retention.last_prunable_sequence(cut)
    pruned_events = _in_batches(ctx, lambda tx: tx.retention.delete_delivered_events(cut, upto))
    allocations = links = 0
    while True:
        gone, linked = ctx.db.run_write(lambda tx: tx.retention.delete_closed_allocations(cut))
        allocations, links = allocations + gone, links + linked
        if gone < BATCH:
            break
    usage = 0
    if ledger is not None:
        hour = epoch_hour(ledger.cut)
        usage = _in_batches(ctx, lambda tx: tx.retention.delete_old_ledger(ledger, hour))
    return {
        "webhook_deliveries": deliveries,
        "events": pruned_events,
        "allocation_windows": links,
        "allocations": allocations,
        "usage_records": usage,
    }


def _in_batches(ctx: EngineContext, batch: Callable[[Unit], int]) -> int:
    """Run ``batch`` (one batch, in a transaction of its own) until a batch is short."""
    total = 0
    while True:
        done = ctx.db.run_write(batch)
        total += done
        if done < BATCH:
            return total
