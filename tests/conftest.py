"""Shared fixtures: a Budget service on real SQLite and on real PostgreSQL.

PostgreSQL tests use ``BUDGET_TEST_POSTGRES_URL`` (default: the local server's
``test`` database as ``postgres``); each test session creates its own database
and drops it at the end. Without a server they skip, unless
``BUDGET_TEST_REQUIRE_POSTGRES=1`` (as in CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import budget
from budget import clock
from budget.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "BUDGET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("BUDGET_TEST_REQUIRE_POSTGRES") == "1"
KEEP_TABLES = {"alembic_version", "prices_template"}


def _admin_engine():
    url = make_url(PG_ADMIN_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated and seeded."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    name = f"budget_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name, drivername="postgresql+psycopg")
    rendered = url.render_as_string(hide_password=False)
    budget.open(rendered).close()  # migrate and seed once
    engine = create_engine(rendered)
    with engine.begin() as conn:  # the seeded catalog, restored before every test
        conn.execute(text("CREATE TABLE prices_template AS SELECT * FROM prices"))
    engine.dispose()
    try:
        yield rendered
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated, seeded SQLite file that each test copies (seeding is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "budget.db"
    budget.open(f"sqlite:///{path}").close()
    return str(path)


def reset_postgres(url: str) -> None:
    """Empty every table and put the seeded price catalog back, as on a fresh start."""
    engine = create_engine(url)
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
        conn.execute(text("INSERT INTO prices SELECT * FROM prices_template"))
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('prices', 'id'),"
                " (SELECT max(id) FROM prices))"
            )
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A database URL with the schema and the shipped prices, empty otherwise."""
    if request.param == "sqlite":
        path = tmp_path / "budget.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def svc(db_url) -> Iterator[budget.BudgetService]:
    """A BudgetService on each backend."""
    service = budget.open(settings=Settings(database_url=db_url, pool_size=5))
    try:
        yield service
    finally:
        service.close()


class PinnedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)


@pytest.fixture
def pinned_clock() -> Iterator[PinnedClock]:
    """Pin Budget's clock (2026-11-29 12:00 UTC unless moved)."""
    pinned = PinnedClock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    clock.set_clock(pinned)
    try:
        yield pinned
    finally:
        clock.set_clock(None)
