"""Driver-level statements for the write path, pipelined on PostgreSQL.

The write path's statements skip SQLAlchemy's statement compilation (which
costs more than running them) and go to the driver's cursor directly, as
plain SQL text written once per dialect in the storage modules.

On PostgreSQL an operation's statements are sent in psycopg's pipeline mode:
each is queued without waiting for its answer, and the first result the
engine reads waits for all of them at once, so an operation costs one round
trip for its statements and one for its COMMIT, however many windows it
touches. On SQLite (in process, no round trips) each statement simply runs.

Driver errors are re-raised as SQLAlchemy's exceptions, so the unit of work
(:mod:`budget.storage.database`) sees them as it sees any other statement's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from budget.storage.unit import Unit

T = TypeVar("T")

_ACTIVE = "budget.pipeline"
_DEFERRED = "budget.deferred"
#: The dialect attribute of a callable given each driver statement's SQL and
#: how it is sent: "alone" (a round trip of its own), "pipelined", or "sync"
#: for the round trip of a pipeline (set by a statement log, :func:`set_trace`).
TRACE = "budget_trace"


class Statements:
    """Runs driver statements on the connection of one transaction."""

    __slots__ = (
        "_base_error",
        "_driver",
        "_trace",
        "conn",
        "dialect",
        "is_postgresql",
        "pipelined",
    )

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.is_postgresql = self.dialect == "postgresql"
        self._driver = conn.connection.driver_connection
        self._base_error = conn.dialect.loaded_dbapi.Error
        self._trace: Callable[[str, str], None] | None = getattr(conn.dialect, TRACE, None)
        self.pipelined = False

    def run(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None):
        """Execute one statement; returns its cursor (results are read lazily)."""
        if self._trace is not None:
            self._trace(sql, "pipelined" if self.pipelined else "alone")
        cursor = self._driver.cursor()
        try:
            cursor.execute(sql, params if params is not None else ())
            if not self.is_postgresql:
                # SQLite: step every statement to its end now, so none is left
                # "in progress" when the transaction commits or rolls back.
                rows = cursor.fetchall()
                cursor.close()
                return _Rows(rows)
        except self._base_error as exc:
            raise self.wrap(exc, sql, params) from exc
        return cursor

    def fetchall(self, cursor) -> list[tuple]:
        """All rows of a cursor; in a pipeline this waits for the queued statements."""
        try:
            return cursor.fetchall()
        except self._base_error as exc:
            raise self.wrap(exc, "(pipelined statements)", None) from exc

    def wrap(self, exc: Exception, sql: str, params: Any) -> DBAPIError:
        """The driver's error as SQLAlchemy would raise it; a broken connection
        is invalidated so the pool never hands it out again."""
        if self.is_postgresql and getattr(self._driver, "broken", False):
            self.conn.invalidate(exc)
        return DBAPIError.instance(
            sql, params, exc, self._base_error, connection_invalidated=self.conn.invalidated
        )


class _Rows:
    """The rows of a statement that has already run to its end."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows


class Pending(Generic[T]):
    """The result of a statement already sent: read when first asked for,
    which in a pipeline waits for every statement queued before it."""

    __slots__ = ("_read",)

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read

    def result(self) -> T:
        return self._read()


class Batch:
    """The unit's statement runner: ``with tx.batch.pipelined():`` sends the
    repositories' write-path statements together (PostgreSQL)."""

    __slots__ = ("_runner", "tx")

    def __init__(self, tx: Unit) -> None:
        self.tx = tx
        self._runner: Statements | None = None

    def pipelined(self) -> AbstractContextManager[Statements]:
        """Queue the statements run inside without waiting for each (see :func:`pipeline`)."""
        own = self._own()
        if not own.is_postgresql:  # SQLite runs each statement as it comes
            return nullcontext(own)
        return pipeline(self.tx.conn)

    def runner(self) -> Statements:
        """The transaction's runner (the pipeline's, inside one)."""
        own = self._own()
        if not own.is_postgresql:
            return own
        active = own.conn.info.get(_ACTIVE)
        return own if active is None else active

    def _own(self) -> Statements:
        if self._runner is None:
            self._runner = Statements(self.tx.conn)
        return self._runner


def statements(conn: Connection) -> Statements:
    """The statement runner of this transaction (the pipeline's, inside one)."""
    active = conn.info.get(_ACTIVE)
    return active if active is not None else Statements(conn)


@contextmanager
def pipeline(conn: Connection) -> Iterator[Statements]:
    """Queue the statements run inside without waiting for each (PostgreSQL);
    leaving the block waits for whatever is still outstanding."""
    runner = Statements(conn)
    if not runner.is_postgresql or conn.info.get(_ACTIVE) is not None:
        yield statements(conn)
        return
    conn.info[_ACTIVE] = runner
    runner.pipelined = True
    if runner._trace is not None:
        runner._trace("", "sync")
    try:
        with runner._driver.pipeline():
            yield runner
    except runner._base_error as exc:
        raise runner.wrap(exc, "(pipelined statements)", None) from exc
    finally:
        if not conn.invalidated:  # an invalidated connection is discarded whole
            conn.info.pop(_ACTIVE, None)


def defer(conn: Connection, sql: str, params: Sequence[Any] | None = None) -> None:
    """A statement whose result nobody reads: on PostgreSQL it is sent with the
    transaction's COMMIT, in the same round trip; on SQLite it runs now."""
    if conn.dialect.name != "postgresql":
        statements(conn).run(sql, params)
        return
    conn.info.setdefault(_DEFERRED, []).append((sql, params))


def send_deferred(conn: Connection, commit: Callable[[], None]) -> None:
    """Send the deferred statements and then ``commit`` in one pipeline."""
    deferred = conn.info.pop(_DEFERRED, None)
    if not deferred:
        commit()
        return
    runner = Statements(conn)
    runner.pipelined = True
    with runner._driver.pipeline():
        for sql, params in deferred:
            runner.run(sql, params)
        commit()


def drop_deferred(conn: Connection) -> None:
    """Forget deferred statements and collected rows of a transaction that
    starts or rolls back."""
    if not conn.invalidated:
        conn.connection.info.pop(_DEFERRED, None)
        conn.connection.info.pop(_COLLECTED, None)


_COLLECTED = "budget.collected"


def collect(conn: Connection, kind: str, row: Any, flush: Callable[[Connection, list], None]):
    """Keep ``row`` for one multi-row write at the end of the transaction:
    ``flush(conn, rows)`` runs just before the COMMIT with every row collected
    under ``kind`` (many events of a batch become one INSERT)."""
    collected = conn.info.setdefault(_COLLECTED, {})
    entry = collected.get(kind)
    if entry is None:
        entry = collected[kind] = (flush, [])
    entry[1].append(row)


def flush_collected(conn: Connection) -> None:
    """Write what :func:`collect` kept (called by the unit of work before COMMIT)."""
    collected = conn.info.pop(_COLLECTED, None)
    for flush, rows in (collected or {}).values():
        flush(conn, rows)


def set_trace(engine, trace: Callable[[str, str], None] | None) -> None:
    """Call ``trace(sql, how)`` for every driver statement of this engine (None: stop)."""
    setattr(engine.dialect, TRACE, trace)
