"""The SQL of retention: which rows a prune may delete, counted or deleted in batches.

Each kind of row has one predicate, used both to count (a dry run) and to
delete (the real run), so the two agree. Deletes go in batches of primary
keys, one short transaction each, so a prune never holds the database for
long (SQLite has one writer at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from budget.domain.enums import Period
from budget.domain.models import Policy
from budget.storage import tables as t
from budget.storage.coverage import covered_by
from budget.storage.sql import insert_ignoring_conflicts
from budget.storage.tables_events import events, webhook_deliveries, webhooks

if TYPE_CHECKING:
    from budget.storage.unit import Unit

E = events.c
D = webhook_deliveries.c
H = webhooks.c
A = t.allocations.c
AW = t.allocation_windows.c
U = t.usage_records.c
#: The ``meta`` row holding the hour (since the epoch) before which the ledger was pruned.
LEDGER_PRUNED_KEY = "ledger_pruned_before"
#: Rows deleted per transaction; a shorter batch is the last.
BATCH = 5000
#: Policies whose windows never end -> the ledger column a row they cover has
#: (None: every row they cover).
_NEVER_ENDING = {Period.TOTAL: None, Period.PER_SESSION: "session_id", Period.PER_TASK: "task_id"}


@dataclass(frozen=True)
class OldLedger:
    """The ledger rows a prune may delete: those that occurred before ``cut``,
    except the rows a window of one of the ``kept`` policies (``total``,
    ``per_session``, ``per_task``: windows that never end) covers."""

    cut: datetime
    kept: tuple[Policy, ...] = ()


def finished_deliveries(cut: datetime) -> ColumnElement[bool]:
    """Deliveries delivered, or dead (retries exhausted), before ``cut``."""
    return or_(
        and_(D.status == "delivered", D.delivered_at < cut),
        and_(D.status == "dead", func.coalesce(D.last_attempt_at, D.created_at) < cut),
    )


def last_prunable_sequence(conn: Connection, cut: datetime) -> int:
    """The highest event sequence a prune may delete up to (0: none).

    Below every webhook's fan-out cursor (paused webhooks too: they fan out
    from it when resumed), below every delivery that stays (pending, or
    finished after ``cut``: its event may be sent or replayed), and below the
    newest event, which always stays so that numbering goes on from it.
    """
    top = conn.execute(select(func.max(E.seq))).scalar()
    if top is None:
        return 0
    limits = [int(top) - 1]
    cursor = conn.execute(select(func.min(H.cursor))).scalar()
    if cursor is not None:
        limits.append(int(cursor))
    staying = conn.execute(select(func.min(D.event_seq)).where(~finished_deliveries(cut))).scalar()
    if staying is not None:
        limits.append(int(staying) - 1)
    return max(0, min(limits))


def delivered_events(cut: datetime, upto: int) -> ColumnElement[bool]:
    """Sequenced events created before ``cut`` up to sequence ``upto``."""
    return and_(E.seq.is_not(None), E.seq <= upto, E.created_at < cut)


def closed_allocations(cut: datetime) -> ColumnElement[bool]:
    """Allocations released or expired before ``cut``."""
    return and_(A.status.in_(("released", "expired")), A.closed_at < cut)


def old_ledger(cut: datetime, kept: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Ledger rows (usage and corrections) that occurred before ``cut``, except
    those ``kept`` selects (NULL there counts as not kept)."""
    if kept is None:
        return U.occurred_at < cut
    return and_(U.occurred_at < cut, func.coalesce(kept, False).is_(False))


def old_ledger_where(old: OldLedger, is_sqlite: bool) -> ColumnElement[bool]:
    """The predicate of :class:`OldLedger`'s rows."""
    kept = [_never_ending_scope(policy, is_sqlite) for policy in old.kept]
    return old_ledger(old.cut, or_(*kept) if kept else None)


def _never_ending_scope(policy: Policy, is_sqlite: bool) -> ColumnElement[bool]:
    covered = covered_by([policy], is_sqlite)
    assert covered is not None
    column = _NEVER_ENDING[policy.period]
    if column is None:
        return covered
    return and_(covered, U[column].is_not(None))


def count(conn: Connection, table: Any, where: ColumnElement[bool]) -> int:
    """How many rows of ``table`` match."""
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def count_allocation_windows(conn: Connection, where: ColumnElement[bool]) -> int:
    """How many allocation_windows rows belong to the allocations ``where`` selects."""
    ids = select(A.id).where(where)
    return count(conn, t.allocation_windows, AW.allocation_id.in_(ids))


def delete_batch(conn: Connection, key: Any, where: ColumnElement[bool], batch: int = BATCH) -> int:
    """Delete up to ``batch`` rows of ``key``'s table that match; returns how many."""
    ids = list(conn.execute(select(key).where(where).limit(batch)).scalars())
    if not ids:
        return 0
    # ``where`` again: a row changed since (a delivery replayed) is left alone.
    return conn.execute(delete(key.table).where(key.in_(ids), where)).rowcount or 0


def delete_allocations_batch(
    conn: Connection, where: ColumnElement[bool], batch: int = BATCH
) -> tuple[int, int]:
    """Delete up to ``batch`` matching allocations and their allocation_windows
    rows; returns (allocations, allocation_windows) deleted."""
    ids = list(conn.execute(select(A.id).where(where).limit(batch)).scalars())
    if not ids:
        return 0, 0
    links = conn.execute(delete(t.allocation_windows).where(AW.allocation_id.in_(ids))).rowcount
    gone = conn.execute(delete(t.allocations).where(A.id.in_(ids))).rowcount
    return gone or 0, links or 0


def ledger_pruned_before(conn: Connection) -> int | None:
    """The hour (since the epoch) before which the ledger was pruned, if it was."""
    value = conn.execute(select(t.meta.c.value).where(t.meta.c.key == LEDGER_PRUNED_KEY)).scalar()
    return None if value is None else int(value)


def mark_ledger_pruned(conn: Connection, hour: int) -> None:
    """Remember that the ledger before ``hour`` was pruned (the mark only moves later)."""
    conn.execute(insert_ignoring_conflicts(conn, t.meta).values(key=LEDGER_PRUNED_KEY, value=hour))
    conn.execute(
        update(t.meta)
        .where(t.meta.c.key == LEDGER_PRUNED_KEY, t.meta.c.value < hour)
        .values(value=hour)
    )


class Retention:
    """Counting and deleting what a prune may remove (see the module docstring)."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def last_prunable_sequence(self, cut: datetime) -> int:
        """See :func:`last_prunable_sequence`."""
        return last_prunable_sequence(self.tx.conn, cut)

    def count_prunable(self, cut: datetime, upto: int, ledger: OldLedger | None) -> dict[str, int]:
        """Per table, how many rows a prune at ``cut`` would delete (events up
        to sequence ``upto``; no ledger rows without ``ledger``)."""
        conn = self.tx.conn
        allocations = closed_allocations(cut)
        return {
            "webhook_deliveries": count(conn, webhook_deliveries, finished_deliveries(cut)),
            "events": count(conn, events, delivered_events(cut, upto)),
            "allocation_windows": count_allocation_windows(conn, allocations),
            "allocations": count(conn, t.allocations, allocations),
            "usage_records": 0
            if ledger is None
            else count(conn, t.usage_records, old_ledger_where(ledger, self.tx.is_sqlite)),
        }

    def delete_finished_deliveries(self, cut: datetime) -> int:
        """One batch of finished deliveries; returns how many went."""
        return delete_batch(self.tx.conn, D.id, finished_deliveries(cut))

    def delete_delivered_events(self, cut: datetime, upto: int) -> int:
        """One batch of delivered events up to sequence ``upto``; returns how many went."""
        return delete_batch(self.tx.conn, E.id, delivered_events(cut, upto))

    def delete_closed_allocations(self, cut: datetime) -> tuple[int, int]:
        """One batch of closed allocations; returns (allocations, allocation_windows) deleted."""
        return delete_allocations_batch(self.tx.conn, closed_allocations(cut))

    def delete_old_ledger(self, ledger: OldLedger, pruned_hour: int) -> int:
        """One batch of old ledger rows; when any went, the ledger is marked
        pruned before ``pruned_hour`` in the same transaction (a rebuild never
        sees a pruned day half-done). Returns how many went."""
        conn = self.tx.conn
        gone = delete_batch(conn, U.id, old_ledger_where(ledger, self.tx.is_sqlite))
        if gone:
            mark_ledger_pruned(conn, pruned_hour)
        return gone

    def ledger_pruned_before(self) -> int | None:
        """See :func:`ledger_pruned_before`."""
        return ledger_pruned_before(self.tx.conn)
