"""Throwaway databases for the benchmarks.

SQLite: a migrated, seeded template file in a temporary directory, copied for
each configuration (seeding the price catalog is the slow part of opening).

PostgreSQL: like tests/conftest.py, a database of its own created through the
admin URL (``BUDGET_BENCH_POSTGRES_URL``, default the local server's ``test``
database as ``postgres``), migrated and seeded once, emptied (all but the
price catalog) between configurations and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import budget

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_ADMIN_URL = os.environ.get("BUDGET_BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)
KEEP_TABLES = {"prices", "alembic_version"}


class PostgresUnavailable(RuntimeError):
    pass


def _admin_engine():
    url = make_url(PG_ADMIN_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def postgres_server_version() -> str | None:
    """The server's version, or None when it cannot be reached."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    except Exception:
        return None
    finally:
        admin.dispose()


class SQLiteDatabases:
    """Fresh SQLite files, each a copy of one migrated and seeded template."""

    name = "sqlite"

    def __init__(self, root: Path) -> None:
        self._root = root
        self._template = root / "template.db"
        budget.open(f"sqlite:///{self._template}").close()
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        path = self._root / f"bench-{self._count}.db"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"


class PostgresDatabases:
    """One throwaway database, emptied for each configuration."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = make_url(url).database
        budget.open(url).close()  # migrate and seed once

    def others(self) -> dict[str, Any]:
        """Work on the same server that skews the figures: other busy sessions,
        and the oldest open transaction elsewhere. An open transaction anywhere
        in the cluster holds back the xmin horizon, so the dead versions of
        the constantly updated ``windows`` rows cannot be pruned meanwhile."""
        admin = _admin_engine()
        try:
            with admin.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE state <> 'idle'),"
                        " coalesce(extract(epoch FROM max(now() - xact_start)"
                        "   FILTER (WHERE backend_xid IS NOT NULL)), 0)"
                        " FROM pg_stat_activity"
                        " WHERE backend_type = 'client backend'"
                        "   AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM :db"
                    ),
                    {"db": self.database},
                ).one()
        finally:
            admin.dispose()
        return {
            "other_active_sessions": int(row[0]),
            "oldest_other_xact_s": round(float(row[1]), 1),
        }

    def windows_bloat(self) -> dict[str, Any]:
        """Live and dead row versions of the counters table (stats lag ~1 s)."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT n_live_tup, n_dead_tup, pg_total_relation_size(relid)"
                        " FROM pg_stat_user_tables WHERE relname = 'windows'"
                    )
                ).one()
        finally:
            engine.dispose()
        return {"windows_live": row[0], "windows_dead": row[1], "windows_bytes": row[2]}

    def fresh(self) -> str:
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ]
                wipe = [f'"{name}"' for name in tables if name not in KEEP_TABLES]
                if wipe:
                    conn.execute(text(f"TRUNCATE {', '.join(wipe)} RESTART IDENTITY CASCADE"))
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        finally:
            engine.dispose()
        return self.url


@contextmanager
def sqlite_databases() -> Iterator[SQLiteDatabases]:
    with tempfile.TemporaryDirectory(prefix="budget-bench-") as root:
        yield SQLiteDatabases(Path(root))


@contextmanager
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Create a database for this run; drop it however the run ends."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        raise PostgresUnavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}") from exc
    name = f"budget_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name, drivername="postgresql+psycopg")
        yield PostgresDatabases(url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
