"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from budget.domain.validation import readable


def to_dialect(dialect: str, sql: str) -> str:
    """Driver SQL written with psycopg's ``%s`` placeholders, for ``dialect``
    (sqlite3 takes ``?``)."""
    return sql if dialect == "postgresql" else sql.replace("%s", "?")


def db_time(dialect: str, value: datetime | None) -> Any:
    """An aware datetime as the driver stores it: itself on PostgreSQL, naive
    UTC text on SQLite (the format SQLAlchemy reads back)."""
    if value is None or dialect == "postgresql":
        return value
    return sqlite_time(value)


def sqlite_time(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, as SQLAlchemy stores SQLite datetimes."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_db_time(value: Any) -> datetime | None:
    """A datetime column read by the driver, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_json(value: Any) -> str:
    """A JSON column's value as driver SQL takes it (text; ``%s::json`` on PostgreSQL)."""
    return json.dumps(value, separators=(",", ":"))


def from_db_json(value: Any) -> Any:
    return readable(json.loads(value) if isinstance(value, str | bytes) else value)


def new_id(prefix: str) -> str:
    """A random, URL-safe id with a readable prefix (``bud_…``, ``pol_…``)."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def insert_ignoring_conflicts(conn: Connection, table: Table, **index: Any):
    """INSERT … ON CONFLICT DO NOTHING on either backend."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(**index)


def lock_rows(conn: Connection, table: Table, ids: list[Any]) -> None:
    """Lock rows in id order (PostgreSQL), so that concurrent transactions
    touching overlapping rows never deadlock. SQLite holds the whole-database
    write lock already."""
    if conn.dialect.name != "postgresql" or not ids:
        return
    stmt = _LOCKS.get(table.name)
    if stmt is None:
        stmt = (
            select(table.c.id)
            .where(table.c.id.in_(bindparam("ids", expanding=True)))
            .order_by(table.c.id)
            .with_for_update()
        )
        _LOCKS[table.name] = stmt
    conn.execute(stmt, {"ids": sorted(ids)}).all()


_LOCKS: dict[str, Any] = {}


def json_list_contains(column: Any, value: str, is_sqlite: bool):
    """SQL that is true when the JSON list in ``column`` holds ``value``."""
    from sqlalchemy import cast, exists, func, literal
    from sqlalchemy.dialects.postgresql import JSONB

    if is_sqlite:
        each = func.json_each(column).table_valued("value")
        return exists().where(each.c.value == value).select_from(each)
    return cast(column, JSONB).contains(cast(literal(json.dumps([value])), JSONB))
