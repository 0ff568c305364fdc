"""Schema migrations through Alembic, run programmatically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision. Every process that opens the database (each CLI
#: command among them) checks it with one query instead of loading Alembic
#: and every migration script; tests/unit/test_migration_sources.py keeps it
#: equal to Alembic's head.
SCHEMA_HEAD = "0013"


def alembic_config() -> Config:
    """Alembic's configuration; the connection is handed over in ``attributes``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_if_behind(engine: Engine) -> None:
    """Bring the schema up to date unless it already is (one query when it is)."""
    if stored_revision(engine) != SCHEMA_HEAD:
        upgrade(engine)


def stored_revision(engine: Engine) -> str | None:
    """The revision the database says it is at (None: not a Budget database yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (idempotent; safe from many processes
    on PostgreSQL thanks to a transaction-scoped advisory lock)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(80130001)")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The single head of the migrations (a merge revision joins branches)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of these migrations (a database migrated by a
    newer version of Budget is at a revision this one does not know)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
