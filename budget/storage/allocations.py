"""Allocation rows on the write path: insert, lock, draw down, close.

An allocation's attributes, windows and deadline never change after it is
created; only its counters and status do, and every change to those is one
``UPDATE … RETURNING`` whose arithmetic runs in the database, so concurrent
writers cannot lose an update and nothing is read back afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from budget.domain.enums import AllocationStatus
from budget.storage import tables
from budget.storage.batch import Pending, Statements, defer
from budget.storage.sql import db_json, db_time, from_db_json, from_db_time, new_id, to_dialect
from budget.storage.unit import Unit

#: Every column of ``allocations``, in table order (the insert writes them all).
COLUMNS = tuple(column.name for column in tables.allocations.columns)
_JSON = frozenset({"policy_ids", "metadata", "tags"})
_TIMES = frozenset({"expires_at", "created_at", "closed_at"})
_SELECT = ", ".join(COLUMNS)


def _placeholders(dialect: str) -> str:
    json_mark = "%s::json" if dialect == "postgresql" else "%s"
    return to_dialect(dialect, ", ".join(json_mark if c in _JSON else "%s" for c in COLUMNS))


@lru_cache(maxsize=4)
def _insert_sql(dialect: str) -> str:
    return f"INSERT INTO allocations ({_SELECT}) VALUES ({_placeholders(dialect)})"


def insert(s: Statements, values: dict[str, Any], window_ids: Sequence[int]) -> None:
    """Store a new allocation and the windows it holds (sent with the COMMIT)."""
    params = [_to_db(s.dialect, c, values[c]) for c in COLUMNS]
    defer(s.conn, _insert_sql(s.dialect), params)
    if not window_ids:
        return
    if s.is_postgresql:
        sql = (
            "INSERT INTO allocation_windows (allocation_id, window_id) "
            "SELECT %s, unnest(%s::bigint[])"
        )
        defer(s.conn, sql, (values["id"], sorted(window_ids)))
        return
    sql = (
        "INSERT INTO allocation_windows (allocation_id, window_id) "
        "SELECT ?, value FROM json_each(?)"
    )
    defer(s.conn, sql, (values["id"], json.dumps(sorted(window_ids))))


def new_allocation_id() -> str:
    """A new allocation's id."""
    return new_id("alc")


_READ = f"SELECT {_SELECT} FROM allocations WHERE id = %s"
_LOCK = {
    "postgresql": f"{_READ} FOR UPDATE",
    "sqlite": to_dialect("sqlite", _READ),
}
_LOCK_STATE = {
    "postgresql": "SELECT status, tokens_remaining FROM allocations WHERE id = %s FOR UPDATE",
    "sqlite": "SELECT status, tokens_remaining FROM allocations WHERE id = ?",
}
_HELD_WINDOWS = to_dialect(
    "sqlite",
    "SELECT w.id, w.policy_id, w.window_key FROM allocation_windows AS aw "
    "JOIN windows AS w ON w.id = aw.window_id WHERE aw.allocation_id = %s ORDER BY w.id",
)


def lock(s: Statements, allocation_id: str):
    """The allocation row as it is now, locked for this transaction (PostgreSQL).
    Returns a cursor; :func:`decode` its row."""
    return s.run(_LOCK[s.dialect], (allocation_id,))


def read(s: Statements, allocation_id: str):
    """The allocation row, not locked (what never changes about it is read so).
    Returns a cursor; :func:`decode` its row."""
    return s.run(
        _LOCK["sqlite"].replace("?", "%s") if s.is_postgresql else _LOCK["sqlite"], (allocation_id,)
    )


def lock_state(s: Statements, allocation_id: str):
    """Like :func:`lock`, but a cursor of only (status, tokens_remaining)."""
    return s.run(_LOCK_STATE[s.dialect], (allocation_id,))


def held_windows(s: Statements, allocation_id: str):
    """A cursor of (window id, policy id, window key) of the windows it holds."""
    sql = _HELD_WINDOWS if s.dialect == "sqlite" else _HELD_WINDOWS.replace("?", "%s")
    return s.run(sql, (allocation_id,))


_DRAW = (
    "UPDATE allocations SET tokens_used = tokens_used + %s, nanos_used = nanos_used + %s, "
    "tokens_remaining = CASE WHEN status = 'active' "
    "THEN tokens_remaining - {least}(tokens_remaining, %s) ELSE tokens_remaining END, "
    "nanos_remaining = CASE WHEN status = 'active' "
    "THEN nanos_remaining - {least}(nanos_remaining, %s) ELSE nanos_remaining END "
    f"WHERE id = %s RETURNING {_SELECT}"
)
_DRAW_AND_CLOSE = (
    "UPDATE allocations SET tokens_used = tokens_used + %s, nanos_used = nanos_used + %s, "
    "tokens_remaining = CASE WHEN status = 'active' THEN 0 ELSE tokens_remaining END, "
    "nanos_remaining = CASE WHEN status = 'active' THEN 0 ELSE nanos_remaining END, "
    "closed_at = CASE WHEN status = 'active' THEN %s ELSE closed_at END, "
    "status = CASE WHEN status = 'active' THEN %s ELSE status END "
    f"WHERE id = %s RETURNING {_SELECT}"
)
_CLOSE = (
    "UPDATE allocations SET tokens_remaining = 0, nanos_remaining = 0, closed_at = %s, "
    "status = CASE WHEN expires_at <= %s THEN 'expired' ELSE 'released' END "
    f"WHERE id = %s AND status = 'active' RETURNING {_SELECT}"
)


@lru_cache(maxsize=8)
def _sql(dialect: str, text: str) -> str:
    least = "LEAST" if dialect == "postgresql" else "min"
    return to_dialect(dialect, text.replace("{least}", least))


def draw(
    s: Statements,
    allocation_id: str,
    tokens: int,
    nanos: int,
    *,
    release_at: datetime | None = None,
):
    """Usage of ``tokens`` and ``nanos`` drawn from the allocation: counted as
    used, its reservation shrinks by what it draws (to nothing, and the
    allocation is released, with ``release_at``). Returns a cursor of the row."""
    if release_at is None:
        sql = _sql(s.dialect, _DRAW)
        return s.run(sql, (tokens, nanos, tokens, nanos, allocation_id))
    sql = _sql(s.dialect, _DRAW_AND_CLOSE)
    when = db_time(s.dialect, release_at)
    return s.run(sql, (tokens, nanos, when, "released", allocation_id))


def close(s: Statements, allocation_id: str, now: datetime):
    """Release an active allocation (``expired`` if past its deadline); a
    cursor of the closed row, empty if it was not active."""
    when = db_time(s.dialect, now)
    return s.run(_sql(s.dialect, _CLOSE), (when, when, allocation_id))


#: Where :func:`lock`'s row holds the allocation's remaining tokens.
TOKENS_REMAINING = COLUMNS.index("tokens_remaining")


def decode(row: Sequence[Any] | None) -> SimpleNamespace | None:
    """A driver row of :data:`COLUMNS` as the attribute row the mappers read."""
    if row is None:
        return None
    values = dict(zip(COLUMNS, row, strict=True))
    for name in _JSON:
        values[name] = from_db_json(values[name])
    for name in _TIMES:
        values[name] = from_db_time(values[name])
    values["over_soft_limit"] = bool(values["over_soft_limit"])
    values["metadata"] = values["metadata"] or {}
    return SimpleNamespace(**values)


def _to_db(dialect: str, column: str, value: Any) -> Any:
    if column in _JSON:
        return db_json(value)
    if column in _TIMES:
        return db_time(dialect, value)
    return value


A = tables.allocations.c
AW = tables.allocation_windows.c
ACTIVE = AllocationStatus.ACTIVE.value
# Statements are built once: building and hashing them costs more than running them.
_BY_ID = select(tables.allocations).where(A.id == bindparam("aid"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_WINDOW_IDS = select(AW.window_id).where(AW.allocation_id == bindparam("aid"))
_CLOSE_AS = (
    update(tables.allocations)
    .where(A.id == bindparam("aid"))
    .values(
        status=bindparam("status"),
        closed_at=bindparam("closed_at"),
        tokens_remaining=0,
        nanos_remaining=0,
    )
)
_ACTIVE_BY_IDS = (
    select(tables.allocations)
    .where(A.id.in_(bindparam("ids", expanding=True)), A.status == ACTIVE)
    .order_by(A.id)
)
_ACTIVE_BY_IDS_LOCKED = _ACTIVE_BY_IDS.with_for_update(skip_locked=True)
_WINDOWS_OF = select(AW.window_id).where(AW.allocation_id.in_(bindparam("ids", expanding=True)))


class Allocations:
    """Allocation rows in one transaction.

    The write path's statements (:meth:`insert`, :meth:`lock_state`,
    :meth:`draw`) go through the transaction's pipeline; the rest, rare, are
    plain statements returning attribute rows.
    """

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    # -- the write path's statements (pipelined) --

    def insert(self, values: dict[str, Any], window_ids: Sequence[int]) -> None:
        """Store a new allocation (every column in ``values``) and the windows
        it holds; sent with the COMMIT."""
        insert(self.tx.batch.runner(), values, window_ids)

    def lock_state(self, allocation_id: str) -> Pending[tuple[str, int] | None]:
        """(status, tokens_remaining) as they are now, the row locked for this
        transaction (PostgreSQL); None if it does not exist."""
        s = self.tx.batch.runner()
        cursor = lock_state(s, allocation_id)
        return Pending(lambda: next(iter(s.fetchall(cursor)), None))

    def draw(
        self, allocation_id: str, tokens: int, nanos: int, *, release_at: datetime | None = None
    ) -> Pending[SimpleNamespace | None]:
        """:func:`draw`: the row after when it releases the allocation (its
        closing event shows it), else None."""
        s = self.tx.batch.runner()
        cursor = draw(s, allocation_id, tokens, nanos, release_at=release_at)

        def after() -> SimpleNamespace | None:
            rows = s.fetchall(cursor)  # read either way: it waits for the pipeline
            return decode(rows[0]) if release_at is not None else None

        return Pending(after)

    def held(self, allocation_id: str) -> tuple[SimpleNamespace | None, list[tuple[int, str, str]]]:
        """The row (not locked), and (window id, policy id, window key) of
        each window the allocation holds."""
        s = self.tx.batch.runner()
        row = decode(next(iter(s.fetchall(read(s, allocation_id))), None))
        windows = s.fetchall(held_windows(s, allocation_id))
        return row, [(w[0], w[1], w[2]) for w in windows]

    # -- closing and expiry --

    def locked(self, allocation_id: str) -> Row | None:
        """The row, locked for this transaction (PostgreSQL)."""
        query = _BY_ID_LOCKED if self.tx.dialect.name == "postgresql" else _BY_ID
        return self.tx.execute(query, {"aid": allocation_id}).first()

    def get(self, allocation_id: str) -> Row:
        """The row as it is now (it must exist)."""
        return self.tx.execute(_BY_ID, {"aid": allocation_id}).one()

    def window_ids(self, allocation_id: str) -> list[int]:
        """The windows it holds, by id."""
        return sorted(self.tx.execute(_WINDOW_IDS, {"aid": allocation_id}).scalars())

    def close_as(self, allocation_id: str, status: AllocationStatus, now: datetime) -> None:
        """Close it with ``status``: nothing remains reserved."""
        self.tx.execute(_CLOSE_AS, {"aid": allocation_id, "status": status.value, "closed_at": now})

    def overdue(self, now: datetime, *, window_id: int | None, limit: int) -> list[str]:
        """Ids of active allocations past their deadline (those holding one
        window, or any), the longest overdue first."""
        query = select(A.id).where(A.status == ACTIVE, A.expires_at <= now)
        if window_id is not None:
            query = query.where(A.id.in_(select(AW.allocation_id).where(AW.window_id == window_id)))
        return list(self.tx.execute(query.order_by(A.expires_at).limit(limit)).scalars().all())

    def lock_active(self, allocation_ids: Sequence[str]) -> list[Row]:
        """The rows still active among these, by id; on PostgreSQL locked,
        skipping those another transaction holds."""
        query = _ACTIVE_BY_IDS_LOCKED if self.tx.dialect.name == "postgresql" else _ACTIVE_BY_IDS
        return list(self.tx.execute(query, {"ids": sorted(allocation_ids)}).all())

    def windows_of(self, allocation_ids: Sequence[str]) -> list[int]:
        """The windows these allocations hold, by id, each once."""
        ids = list(allocation_ids)
        return sorted(set(self.tx.execute(_WINDOWS_OF, {"ids": ids}).scalars().all()))
