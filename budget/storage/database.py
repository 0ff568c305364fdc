"""The database engine and the unit of work.

SQLite runs in WAL mode and every writing transaction starts with
``BEGIN IMMEDIATE``: it takes the write lock up front, so two writers never
both read and then fail to upgrade, and a conditional UPDATE sees the latest
committed counters. On PostgreSQL a conditional UPDATE takes the row lock and
re-checks its WHERE clause on the newest row version, which is what makes
check-and-reserve one atomic step there.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from budget.domain import redact
from budget.errors import StorageError, ValidationError
from budget.settings import Settings
from budget.storage.batch import drop_deferred, flush_collected, send_deferred
from budget.storage.unit import Unit

T = TypeVar("T")

#: PostgreSQL's "try again" states: deadlock detected, serialization failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
AFTER_COMMIT = "budget.after_commit"


def after_commit(conn: Connection, hook: Callable[[], None]) -> None:
    """Call ``hook`` (which must not raise) once the transaction of ``conn``
    has committed; never if it rolls back, e.g. before a retry."""
    conn.info.setdefault(AFTER_COMMIT, []).append(hook)


class Database:
    """Owns the SQLAlchemy engine; hands out read and write transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Threads of this process queue here,
        # in order, instead of polling in SQLite's busy handler, where a
        # waiting writer can lose again and again (p99 of seconds under load).
        # Other processes still queue on BEGIN IMMEDIATE.
        self._writers = threading.RLock() if self.is_sqlite else nullcontext()

    @classmethod
    def connect(cls, settings: Settings) -> Database:
        return cls(build_engine(settings))

    @contextmanager
    def write(self) -> Iterator[Unit]:
        """A transaction that writes: committed on success, rolled back on error."""
        with self._writers, self._transaction(immediate=True) as conn:
            yield conn

    def run_write(self, work: Callable[[Unit], T], attempts: int = 6) -> T:
        """Run ``work`` in a write transaction, again from the start if the
        database chose it as a deadlock victim (it then changed nothing)."""
        for attempt in range(attempts):
            try:
                with self.write() as conn:
                    return work(conn)
            except StorageError as exc:
                if not exc.retryable or attempt == attempts - 1:
                    raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Unit]:
        """A transaction that only reads."""
        with self._transaction(immediate=False) as conn:
            yield conn

    @contextmanager
    def _transaction(self, immediate: bool) -> Iterator[Unit]:
        committing = False
        try:
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn = conn.execution_options(sqlite_immediate=immediate)
                conn.info[AFTER_COMMIT] = []
                drop_deferred(conn)
                transaction = conn.begin()
                try:
                    yield Unit(conn)
                    flush_collected(conn)
                    committing = True
                    send_deferred(conn, transaction.commit)
                except BaseException:
                    if transaction.is_active:
                        transaction.rollback()
                    drop_deferred(conn)
                    raise  # a failed COMMIT is rolled back as the pool takes the connection back
                for hook in conn.info.pop(AFTER_COMMIT, ()):
                    hook()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
                raise StorageError(
                    f"transaction aborted, retry: {redact.text(str(exc.orig))}", retryable=True
                ) from exc
            if exc.connection_invalidated and not committing:
                # A pooled connection the server had closed: nothing was written.
                raise StorageError(
                    f"database connection lost: {redact.text(str(exc.orig))}", retryable=True
                ) from exc
            raise StorageError(f"database unavailable: {redact.text(str(exc.orig))}") from exc
        except DataError as exc:
            raise _refused_value(str(exc.orig).splitlines()[0]) from exc
        except (OverflowError, UnicodeEncodeError) as exc:
            raise _refused_value(str(exc)) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StorageError(
                    f"database connection lost: {redact.text(str(exc.orig))}",
                    retryable=not committing,
                ) from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _refused_value(reason: str) -> ValidationError:
    """A value the driver or database could not take; the transaction was rolled back.

    The domain's checks (``budget.domain.limits``) refuse such input before it
    gets here; this is the backstop that keeps it a 422, never a 500.
    """
    return ValidationError("input", None, f"the database cannot store a value given: {reason}")


def build_engine(settings: Settings) -> Engine:
    """An engine for the configured URL, tuned for its backend."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings, url)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        # No ping per checkout (a round trip per transaction): a connection the
        # server closed fails its first statement, and that transaction, which
        # wrote nothing, is retried on a fresh one (Database.run_write).
        pool_recycle=1800,
    )

    return engine


def _sqlite_engine(settings: Settings, url) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: SQLAlchemy's statement machinery would cost
        # more than the statement (it sees no rows and no parameters anyway).
        immediate = conn.get_execution_options().get("sqlite_immediate", True)
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
