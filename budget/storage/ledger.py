"""The ledger on the write path: usage rows and the rollups that sum them.

A usage row is inserted with ``ON CONFLICT (request_id) DO NOTHING
RETURNING id``: no row back means its request id was recorded before, and
the caller rolls back and returns the first record (the ledger is
idempotent). Many rows go in one multi-row statement.

Rollup rows are added to with one ``INSERT … ON CONFLICT DO UPDATE`` in the
same transaction, in key order, so concurrent writers take their locks in one
order and a rolled-back record leaves no trace in them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select, text

from budget.domain.models import UsageRecord
from budget.storage import tables
from budget.storage.batch import Pending, Statements
from budget.storage.mapping import row_to_usage
from budget.storage.sql import db_json, db_time, new_id, to_dialect
from budget.storage.unit import Unit

#: Every column of ``usage_records``, in table order (the insert writes them all).
COLUMNS = tuple(column.name for column in tables.usage_records.columns)
_JSON = frozenset({"metadata", "tags"})
_TIMES = frozenset({"occurred_at", "recorded_at"})
#: Positions (in COLUMNS) of the values stored as JSON text and as times.
_CONVERTED = (
    [i for i, c in enumerate(COLUMNS) if c in _JSON],
    [i for i, c in enumerate(COLUMNS) if c in _TIMES],
)


@lru_cache(maxsize=64)
def _insert_sql(dialect: str, rows: int) -> str:
    json_mark = "%s::json" if dialect == "postgresql" else "%s"
    one = "(" + ", ".join(json_mark if c in _JSON else "%s" for c in COLUMNS) + ")"
    sql = (
        f"INSERT INTO usage_records ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([one] * rows)
        + " ON CONFLICT (request_id) DO NOTHING RETURNING id"
    )
    return to_dialect(dialect, sql)


_PG_INSERT = (
    f"INSERT INTO usage_records ({', '.join(COLUMNS)}) "
    f"SELECT {', '.join(COLUMNS)} FROM json_populate_recordset(NULL::usage_records, %s::json) "
    "ON CONFLICT (request_id) DO NOTHING RETURNING id"
)


def insert(s: Statements, rows: Sequence[Mapping[str, Any]]):
    """Append usage rows (mappings of :data:`COLUMNS`) in one statement; a
    cursor of the ids inserted (a row whose request id exists is not).

    PostgreSQL takes the rows as one JSON document (``json_populate_recordset``
    types each field by its column), which costs the driver nothing per value.
    """
    if s.is_postgresql:
        return s.run(
            _PG_INSERT, (json.dumps([{c: row[c] for c in COLUMNS} for row in rows], default=_iso),)
        )
    json_at, time_at = _CONVERTED
    params: list = []
    for row in rows:
        values = [row[c] for c in COLUMNS]
        for i in json_at:
            values[i] = db_json(values[i])
        for i in time_at:
            values[i] = db_time(s.dialect, values[i])
        params += values
    return s.run(_insert_sql(s.dialect, len(rows)), params)


#: Rows per multi-row statement: SQLite binds at most 32,766 parameters.
CHUNK = 200


def insert_many(s: Statements, rows: Sequence[Mapping[str, Any]]) -> list:
    """:func:`insert` in chunks (one on PostgreSQL); the cursors, in order."""
    if s.is_postgresql:
        return [insert(s, rows)]
    return [insert(s, rows[i : i + CHUNK]) for i in range(0, len(rows), CHUNK)]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def add_to_rollups(s: Statements, columns: Sequence[str], key: Sequence[str], counters, rows):
    """Add rollup rows (tuples of ``columns``) to ``usage_rollups``: their
    ``counters`` are added to the rows with the same ``key``."""
    rows = list(rows)
    if not rows:
        return
    if s.is_postgresql:
        # One statement: a column array each, unnested in the rows' (key) order.
        sql = _upsert_unnest_sql(tuple(columns), tuple(key), tuple(counters))
        s.run(sql, [list(column) for column in zip(*rows, strict=True)])
        return
    for i in range(0, len(rows), CHUNK):
        part = rows[i : i + CHUNK]
        sql = _upsert_sql("sqlite", tuple(columns), tuple(key), tuple(counters), len(part))
        s.run(sql, [value for row in part for value in row])


@lru_cache(maxsize=256)
def _upsert_sql(
    dialect: str, columns: tuple[str, ...], key: tuple[str, ...], counters: tuple[str, ...], n: int
) -> str:
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    added = ", ".join(f"{c} = usage_rollups.{c} + excluded.{c}" for c in counters)
    sql = (
        f"INSERT INTO usage_rollups ({', '.join(columns)}) VALUES "
        + ", ".join([one] * n)
        + f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}"
    )
    return to_dialect(dialect, sql)


#: PostgreSQL array types of the rollup columns (text unless named here).
_ROLLUP_TYPES = {
    "span_hours": "smallint",
    "start_hour": "bigint",
    "priced": "boolean",
    "correction": "boolean",
}


@lru_cache(maxsize=8)
def _upsert_unnest_sql(
    columns: tuple[str, ...], key: tuple[str, ...], counters: tuple[str, ...]
) -> str:
    arrays = ", ".join(
        f"%s::{'bigint' if c in counters else _ROLLUP_TYPES.get(c, 'text')}[]" for c in columns
    )
    added = ", ".join(f"{c} = usage_rollups.{c} + excluded.{c}" for c in counters)
    return (
        f"INSERT INTO usage_rollups ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}"
    )


def inserted_ids(s: Statements, cursors: Iterable) -> set[str]:
    """The ids the insert cursors returned."""
    return {row[0] for cursor in cursors for row in s.fetchall(cursor)}


def new_usage_id() -> str:
    """A new usage record's id."""
    return new_id("use")


_HOLD_WRITES = text("LOCK TABLE usage_records IN SHARE MODE")
U = tables.usage_records.c


class Ledger:
    """The usage ledger in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> Pending[set[str]]:
        """Append usage rows (:func:`insert_many`, pipelined); the ids inserted
        (a row whose request id was recorded before is not)."""
        s = self.tx.batch.runner()
        cursors = insert_many(s, rows)
        return Pending(lambda: inserted_ids(s, cursors))

    def hold_writes(self) -> None:
        """PostgreSQL: wait for the transactions that wrote usage to finish and
        hold new usage writes back until this transaction ends (SHARE lock)."""
        if self.tx.dialect.name == "postgresql":
            self.tx.execute(_HOLD_WRITES)

    def by_request_ids(self, request_ids: Sequence[str]) -> dict[str, tuple[UsageRecord, str]]:
        """The records with these request ids, with their content hashes, by request id."""
        rows = self.tx.execute(
            select(tables.usage_records).where(U.request_id.in_(list(request_ids)))
        ).all()
        return {row.request_id: (row_to_usage(row), row.content_hash) for row in rows}
