"""The ledger on the write path: usage rows and the rollups that sum them.

A usage row is inserted with ``ON CONFLICT (request_id) DO NOTHING
RETURNING id``: no row back means its request id was recorded before, and
the caller rolls back and returns the first record (the ledger is
idempotent). Many rows go in one multi-row statement.

Rollup rows are added to with ``INSERT … ON CONFLICT DO UPDATE`` in the same
transaction, in key order, so concurrent writers take their locks in one order
and a rolled-back record leaves no trace in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from budget.storage.batch import Statements
from budget.storage.sql import db_json, db_time, to_dialect

COLUMNS = (
    "id",
    "request_id",
    "content_hash",
    "allocation_id",
    "context_id",
    "session_id",
    "task_id",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "priced",
    "cost_nanos",
    "input_nanos",
    "cached_input_nanos",
    "cache_write_nanos",
    "output_nanos",
    "reasoning_nanos",
    "request_nanos",
    "price_id",
    "latency_ms",
    "metadata",
    "occurred_at",
    "recorded_at",
    "component",
    "project",
    "user_id",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tags",
)
_JSON = frozenset({"metadata", "tags"})
_TIMES = frozenset({"occurred_at", "recorded_at"})


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


def insert(s: Statements, rows: Sequence[Mapping[str, Any]]):
    """Append usage rows (mappings of :data:`COLUMNS`) in one statement; a
    cursor of the ids inserted (a row whose request id exists is not)."""
    params = [_to_db(s.dialect, c, row[c]) for row in rows for c in COLUMNS]
    return s.run(_insert_sql(s.dialect, len(rows)), params)


#: Rows per multi-row statement: SQLite binds at most 32,766 parameters.
CHUNK = 200


def insert_many(s: Statements, rows: Sequence[Mapping[str, Any]]) -> list:
    """:func:`insert` in chunks; the cursors of each chunk, in order."""
    return [insert(s, rows[i : i + CHUNK]) for i in range(0, len(rows), CHUNK)]


def add_to_rollups(s: Statements, columns: Sequence[str], key: Sequence[str], counters, rows):
    """Add rollup rows (tuples of ``columns``) to ``usage_rollups``: their
    ``counters`` are added to the rows with the same ``key``."""
    rows = list(rows)
    if not rows:
        return
    if s.is_postgresql:
        # One row per statement, pipelined: faster there than one multi-row upsert.
        s.many(_upsert_sql("postgresql", tuple(columns), tuple(key), tuple(counters), 1), rows)
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


def _to_db(dialect: str, column: str, value: Any) -> Any:
    if column in _JSON:
        return db_json(value)
    if column in _TIMES:
        return db_time(dialect, value)
    return value


def inserted_ids(s: Statements, cursors: Iterable) -> set[str]:
    """The ids the insert cursors returned."""
    return {row[0] for cursor in cursors for row in s.fetchall(cursor)}
