"""What ``budget doctor`` asks the database itself: its clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text


def database_clock(engine: Engine) -> datetime | None:
    """The database server's wall clock now (PostgreSQL's ``clock_timestamp()``,
    not the transaction's start); None for SQLite, which has no clock of its own."""
    if engine.dialect.name == "sqlite":
        return None
    with engine.connect() as conn:
        moment = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
