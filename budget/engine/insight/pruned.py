"""Reports after a ledger prune: whole hours come from the rollups, which a
prune keeps, so they stay exact; a sub-hour piece needs the ledger itself.

A report whose range starts or ends inside an hour, or whose buckets split
hours (a zone such as Asia/Kolkata, +05:30), reads those pieces from the
ledger. Where that ledger was pruned the piece would come out short, so such
a report is refused with the reason instead (docs/retention.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from budget.domain.rollups import EPOCH
from budget.engine.insight.buckets import TimePlan
from budget.errors import ValidationError

if TYPE_CHECKING:
    from budget.storage.unit import Unit


def refuse_pruned_pieces(
    tx: Unit, time: TimePlan, since: datetime, until: datetime, timezone: str
) -> None:
    """Raise ValidationError if a sub-hour piece of ``time`` lies where the ledger was pruned."""
    if not time.ledger:
        return
    hour = tx.reports.ledger_pruned_before()
    if hour is None:
        return
    pruned = EPOCH + timedelta(hours=hour)
    if not any(piece.start < pruned for piece in time.ledger):
        return
    reason = (
        f"the ledger before {pruned.isoformat()} was pruned and only whole hours of it "
        "remain (in the rollups); "
    )
    if since < pruned and not _whole_hour(since):
        raise ValidationError("since", since.isoformat(), reason + "start on a whole hour")
    if until <= pruned and not _whole_hour(until):
        raise ValidationError("until", until.isoformat(), reason + "end on a whole hour")
    raise ValidationError("timezone", timezone, reason + "use a whole-hour timezone")


def _whole_hour(at: datetime) -> bool:
    """Whether ``at`` is a whole UTC hour (where the rollups' buckets start)."""
    return (at - EPOCH) % timedelta(hours=1) == timedelta(0)
