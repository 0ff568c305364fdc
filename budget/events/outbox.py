"""The outbox: events written in the transaction of the change, read in commit order.

Ordering. Consumers (the SSE stream, the webhook fan-out) read events by
``seq`` and remember the last one they saw, so ``seq`` must grow in commit
order with no gap that a later commit could fill:

* SQLite serializes writers (``BEGIN IMMEDIATE``), so ``seq`` is set on
  insert to ``max(seq) + 1``: insert order is commit order.
* PostgreSQL commits concurrent transactions in any order, so an event is
  inserted with ``seq`` NULL and :func:`assign_sequence` numbers committed
  events afterwards, in one short transaction under an advisory lock. A
  consumer therefore never sees sequence ``n + 1`` before ``n``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from budget.events.types import Event
from budget.storage.batch import collect, defer, statements
from budget.storage.sql import sqlite_time
from budget.storage.tables_events import events

E = events.c
_SEQUENCER_LOCK = 80130002
_SEQUENCE_BATCH = 5000
_HAS_UNSEQUENCED = select(E.id).where(E.seq.is_(None)).limit(1)
_SEQUENCE = text(
    """
    WITH base AS (SELECT coalesce(max(seq), 0) AS top FROM events),
         pending AS (
             SELECT id, row_number() OVER (ORDER BY id) AS n
             FROM events WHERE seq IS NULL ORDER BY id LIMIT :batch
         )
    UPDATE events SET seq = base.top + pending.n
    FROM base, pending WHERE events.id = pending.id
    """
)


def budget_column(budget_ids: Iterable[str]) -> str:
    """``bud_a bud_b`` as stored: space-delimited with a space at both ends."""
    ids = " ".join(budget_ids)
    return f" {ids} " if ids else ""


_PG_INSERT = (
    "INSERT INTO events (event_id, type, budget_ids, data, created_at) "
    "SELECT event_id, type, budget_ids, data, created_at "
    "FROM json_populate_recordset(NULL::events, %s::json)"
)
_SQLITE_TOP = "SELECT coalesce(max(seq), 0) FROM events"
#: Rows per SQLite statement (6 parameters a row; SQLite binds at most 32,766).
_CHUNK = 500


def insert_event(conn: Connection, event: Event) -> None:
    """Store one event in the transaction of ``conn``. The events of a
    transaction are written together just before its COMMIT, in one statement
    (on PostgreSQL sent with the COMMIT itself, as one JSON document)."""
    collect(conn, "events", event, _write_events)


def _write_events(conn: Connection, events_: list[Event]) -> None:
    if conn.dialect.name != "sqlite":
        document = [
            {
                "event_id": e.event_id,
                "type": e.type,
                "budget_ids": budget_column(e.budget_ids),
                "data": e.data,
                "created_at": e.time.isoformat(),
            }
            for e in events_
        ]
        defer(conn, _PG_INSERT, (json.dumps(document),))
        return
    rows = [
        (e.event_id, e.type, budget_column(e.budget_ids), json.dumps(e.data), e.time)
        for e in events_
    ]
    # SQLite serializes writers: numbering after the highest sequence is commit order.
    s = statements(conn)
    top = s.fetchall(s.run(_SQLITE_TOP))[0][0]
    for start in range(0, len(rows), _CHUNK):
        part = rows[start : start + _CHUNK]
        params: list = []
        for offset, (event_id, type_, budgets, data, time) in enumerate(part, start + 1):
            params += (event_id, type_, budgets, data, sqlite_time(time), top + offset)
        s.run(_sqlite_insert(len(part)), params)


@lru_cache(maxsize=64)
def _sqlite_insert(rows: int) -> str:
    return "INSERT INTO events (event_id, type, budget_ids, data, created_at, seq) VALUES " + (
        ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    )


def assign_sequence(conn: Connection) -> int:
    """PostgreSQL: number the committed events that have no sequence yet, in
    id order, after the highest number given; returns how many. One caller at
    a time (others skip); a no-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return 0
    if conn.execute(_HAS_UNSEQUENCED).first() is None:
        return 0
    locked = conn.execute(text(f"SELECT pg_try_advisory_xact_lock({_SEQUENCER_LOCK})")).scalar()
    if not locked:
        return 0
    return conn.execute(_SEQUENCE, {"batch": _SEQUENCE_BATCH}).rowcount or 0


def last_sequence(conn: Connection) -> int:
    """The highest sequence number given so far (0 for none)."""
    return int(conn.execute(select(func.coalesce(func.max(E.seq), 0))).scalar_one())


def read_events(
    conn: Connection,
    *,
    after: int = 0,
    types: Iterable[str] | None = None,
    budget_id: str | None = None,
    limit: int = 100,
) -> list[Event]:
    """Sequenced events after ``after``, oldest first, that pass the filters."""
    query = select(events).where(E.seq > after)
    wanted = sorted(set(types or ()))
    if wanted:
        query = query.where(E.type.in_(wanted))
    if budget_id:
        query = query.where(E.budget_ids.contains(f" {budget_id} ", autoescape=True))
    rows = conn.execute(query.order_by(E.seq).limit(limit)).all()
    return [row_to_event(r) for r in rows]


_BY_SEQ = select(events).where(E.seq.in_(bindparam("seqs", expanding=True)))


def events_by_sequence(conn: Connection, seqs: Iterable[int]) -> dict[int, Event]:
    """The events with these sequence numbers."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    return {r.seq: row_to_event(r) for r in conn.execute(_BY_SEQ, {"seqs": wanted}).all()}


def row_to_event(row: Any) -> Event:
    """An outbox row as an Event."""
    return Event(
        event_id=row.event_id,
        type=row.type,
        time=row.created_at,
        data=row.data or {},
        budget_ids=tuple((row.budget_ids or "").split()),
        sequence=row.seq,
    )
