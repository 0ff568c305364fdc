"""What ``budget doctor`` (and a health check) asks the database itself: its
clock, its version, whether it answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from budget.storage.unit import Unit


def database_clock(engine: Engine) -> datetime | None:
    """The database server's wall clock now (PostgreSQL's ``clock_timestamp()``,
    not the transaction's start); None for SQLite, which has no clock of its own."""
    if engine.dialect.name == "sqlite":
        return None
    with engine.connect() as conn:
        moment = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dialect_name(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.dialect.name


def server_version(engine: Engine) -> str:
    """The database server's version (``16.4``; SQLite's library version),
    asked over a new connection: a failure to connect raises."""
    with engine.connect() as conn:
        return ".".join(map(str, conn.dialect.server_version_info or ()))


def answer(tx: Unit) -> None:
    """Ask the database the simplest question in the caller's transaction."""
    tx.execute(text("SELECT 1"))
