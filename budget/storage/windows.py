"""Window counters on the write path: reserve, count usage, give back.

Each operation is one statement over all the windows it touches, whatever
their number: the limits travel with the window ids (``unnest`` of arrays on
PostgreSQL, a ``VALUES`` list on SQLite), a hard limit is checked in the
``WHERE`` clause, and ``RETURNING`` gives the counters afterwards, so nothing
is read twice. A window whose limit would be passed is simply not updated:
the caller compares the returned ids with the hard windows it asked for and
rolls the whole transaction back when one is missing (all or none).

On PostgreSQL every writer first locks the windows it touches in id order
(:func:`lock`), so transactions that share windows never deadlock; SQLite
holds its one write lock already.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, select, update

from budget.domain.models import Policy, WindowCounters
from budget.domain.periods import WindowSpan
from budget.storage import tables as t
from budget.storage.batch import Pending, Statements
from budget.storage.sql import insert_ignoring_conflicts, lock_rows, to_dialect
from budget.storage.unit import Unit

COUNTERS = "id, used_tokens, reserved_tokens, used_nanos, reserved_nanos, used_requests"

_LOCK = "SELECT id FROM windows WHERE id = ANY(%s) ORDER BY id FOR UPDATE"

_RESERVE_PG = f"""
UPDATE windows AS w
SET reserved_tokens = w.reserved_tokens + %s, reserved_nanos = w.reserved_nanos + %s,
    used_requests = w.used_requests + 1
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v(wid, tl, cl, rl)
WHERE w.id = v.wid
  AND (v.tl IS NULL OR w.used_tokens + w.reserved_tokens + %s <= v.tl)
  AND (v.cl IS NULL OR w.used_nanos + w.reserved_nanos + %s <= v.cl)
  AND (v.rl IS NULL OR w.used_requests + 1 <= v.rl)
RETURNING w.{COUNTERS.replace(", ", ", w.")}
"""

_COUNT_PG = f"""
UPDATE windows AS w
SET used_tokens = w.used_tokens + v.uf * %s, used_nanos = w.used_nanos + v.uf * %s,
    reserved_tokens = w.reserved_tokens - v.rf * d.t,
    reserved_nanos = w.reserved_nanos - v.rf * d.n
FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(wid, uf, rf), ({{drawn}}) AS d
WHERE w.id = v.wid
RETURNING w.{COUNTERS.replace(", ", ", w.")}
"""

#: What usage draws from an allocation's reservation: no more than it still holds.
_DRAWN = (
    "SELECT CASE WHEN status = 'active' THEN {least}(tokens_remaining, %s) ELSE 0 END AS t, "
    "CASE WHEN status = 'active' THEN {least}(nanos_remaining, %s) ELSE 0 END AS n "
    "FROM allocations WHERE id = %s"
)
#: Everything it still holds (usage with release, or a release).
_HELD = (
    "SELECT CASE WHEN status = 'active' THEN tokens_remaining ELSE 0 END AS t, "
    "CASE WHEN status = 'active' THEN nanos_remaining ELSE 0 END AS n "
    "FROM allocations WHERE id = %s"
)


def lock(s: Statements, window_ids: Sequence[int]) -> None:
    """PostgreSQL: lock these windows in id order for the rest of the transaction."""
    if s.is_postgresql and window_ids:
        s.run(_LOCK, (sorted(window_ids),))


def reserve(
    s: Statements,
    limits: Sequence[tuple[int, int | None, int | None, int | None]],
    tokens: int,
    nanos: int,
):
    """Add ``tokens`` and ``nanos`` to the reservation, and one request, to each
    window ``(window_id, token_limit, nano_limit, request_limit)`` whose limits
    still hold (None: no limit). Returns a cursor of the updated windows' counters."""
    if s.is_postgresql:
        ids, tls, cls, rls = (list(col) for col in zip(*limits, strict=True))
        return s.run(_RESERVE_PG, (tokens, nanos, ids, tls, cls, rls, tokens, nanos))
    params: list = [value for row in limits for value in row]
    params += [tokens, nanos, tokens, nanos]
    return s.run(_reserve_sqlite(len(limits)), params)


def count(
    s: Statements,
    use_ids: Sequence[int],
    tokens: int,
    nanos: int,
    *,
    allocation_id: str,
    held_ids: Sequence[int],
    release: bool = False,
):
    """Count usage drawn from an allocation on ``use_ids`` and move what it
    draws (everything it holds with ``release``) out of the reservation of
    ``held_ids``; one statement. Returns a cursor of the counters of every
    window touched (None when there are no windows). Usage drawn from no
    allocation is counted with :func:`add_used_each`."""
    ids = sorted(set(use_ids) | set(held_ids))
    if not ids:
        return None
    uses, holds = set(use_ids), set(held_ids)
    flags = [(i, int(i in uses), int(i in holds)) for i in ids]
    drawn_params = (allocation_id,) if release else (tokens, nanos, allocation_id)
    if s.is_postgresql:
        columns = [list(col) for col in zip(*flags, strict=True)]
        sql = _count_sql("postgresql", release, 0)
        return s.run(sql, (tokens, nanos, *columns, *drawn_params))
    params = [value for row in flags for value in row]
    params += [*drawn_params, tokens, nanos]
    return s.run(_count_sql("sqlite", release, len(ids)), params)


_ADD_EACH_PG = f"""
UPDATE windows AS w
SET used_tokens = w.used_tokens + v.t, used_nanos = w.used_nanos + v.n,
    used_requests = w.used_requests + v.r
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v(wid, t, n, r)
WHERE w.id = v.wid
RETURNING w.{COUNTERS.replace(", ", ", w.")}
"""


def add_used_each(s: Statements, added: dict[int, tuple[int, int, int]]):
    """Count usage drawn from no allocation on each window (``{id: (tokens,
    nanos, requests)}``), one statement; a cursor of the counters afterwards."""
    rows = [(wid, *added[wid]) for wid in sorted(added)]
    if s.is_postgresql:
        return s.run(_ADD_EACH_PG, [list(col) for col in zip(*rows, strict=True)])
    return s.run(_add_each_sqlite(len(rows)), [value for row in rows for value in row])


@lru_cache(maxsize=512)
def _add_each_sqlite(n: int) -> str:
    return (
        f"WITH v(wid, t, n, r) AS (VALUES {_tuples(n, 4)}) "
        "UPDATE windows SET used_tokens = used_tokens + v.t, used_nanos = used_nanos + v.n, "
        "used_requests = used_requests + v.r "
        f"FROM v WHERE windows.id = v.wid RETURNING {COUNTERS}"
    )


def counters_by_id(rows) -> dict[int, WindowCounters]:
    return {
        row[0]: WindowCounters(row[1], row[2], row[3], row[4], used_requests=row[5]) for row in rows
    }


_GIVE_BACK = {
    "postgresql": f"""
UPDATE windows AS w
SET reserved_tokens = w.reserved_tokens - d.t, reserved_nanos = w.reserved_nanos - d.n
FROM ({_HELD}) AS d
WHERE w.id = ANY(%s)
""",
    "sqlite": to_dialect(
        "sqlite",
        f"""
WITH d(t, n) AS ({_HELD})
UPDATE windows
SET reserved_tokens = reserved_tokens - d.t, reserved_nanos = reserved_nanos - d.n
FROM d
WHERE windows.id IN (SELECT value FROM json_each(%s))
""",
    ),
}


def give_back(s: Statements, allocation_id: str, window_ids: Sequence[int]):
    """Return what an active allocation still holds to its windows (it is
    closed in the same transaction)."""
    ids = sorted(window_ids) if s.is_postgresql else json.dumps(sorted(window_ids))
    return s.run(_GIVE_BACK[s.dialect], (allocation_id, ids))


def _triples(n: int) -> str:
    """``(?, ?, ?), …`` n times: the VALUES list SQLite takes a window per row in."""
    return _tuples(n, 3)


def _tuples(n: int, width: int) -> str:
    return ", ".join(["(" + ", ".join(["?"] * width) + ")"] * n)


@lru_cache(maxsize=512)
def _reserve_sqlite(n: int) -> str:
    return (
        f"WITH v(wid, tl, cl, rl) AS (VALUES {_tuples(n, 4)}) "
        "UPDATE windows SET reserved_tokens = reserved_tokens + ?, "
        "reserved_nanos = reserved_nanos + ?, used_requests = used_requests + 1 "
        "FROM v WHERE windows.id = v.wid "
        "AND (v.tl IS NULL OR windows.used_tokens + windows.reserved_tokens + ? <= v.tl) "
        "AND (v.cl IS NULL OR windows.used_nanos + windows.reserved_nanos + ? <= v.cl) "
        "AND (v.rl IS NULL OR windows.used_requests + 1 <= v.rl) "
        f"RETURNING {COUNTERS}"
    )


@lru_cache(maxsize=512)
def _count_sql(dialect: str, release: bool, n: int) -> str:
    least = "LEAST" if dialect == "postgresql" else "min"
    drawn = to_dialect(dialect, _HELD if release else _DRAWN.format(least=least))
    if dialect == "postgresql":
        return _COUNT_PG.replace("{drawn}", drawn)
    return (
        f"WITH v(wid, uf, rf) AS (VALUES {_triples(n)}), d(t, n) AS ({drawn}) "
        "UPDATE windows SET used_tokens = used_tokens + v.uf * ?, "
        "used_nanos = used_nanos + v.uf * ?, "
        "reserved_tokens = reserved_tokens - v.rf * d.t, "
        "reserved_nanos = reserved_nanos - v.rf * d.n "
        f"FROM v, d WHERE windows.id = v.wid RETURNING {COUNTERS}"
    )


W = t.windows.c
# Statements are built once: building and hashing them costs more than running them.
_FIND = select(W.id).where(W.policy_id == bindparam("pid"), W.window_key == bindparam("key"))
_READ_BY_KEY = select(
    W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos, W.used_requests
).where(W.policy_id == bindparam("pid"), W.window_key == bindparam("key"))
_ADD_RESERVED = (
    update(t.windows)
    .where(W.id.in_(bindparam("ids", expanding=True)))
    .values(
        reserved_tokens=W.reserved_tokens + bindparam("tokens"),
        reserved_nanos=W.reserved_nanos + bindparam("nanos"),
    )
)


def counters_of_row(row) -> WindowCounters:
    """The counters of a windows row."""
    return WindowCounters(
        row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos, row.used_requests
    )


class Windows:
    """Policy windows and their counters in one transaction.

    The counter changes of the write path (:meth:`reserve`, :meth:`count`,
    :meth:`add_used_each`) are queued in the transaction's pipeline and
    return a :class:`~budget.storage.batch.Pending` of the counters after.
    """

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    # -- the write path's statements (pipelined) --

    def lock(self, window_ids: Sequence[int]) -> None:
        """PostgreSQL: lock these windows in id order for the rest of the transaction."""
        lock(self.tx.batch.runner(), window_ids)

    def reserve(
        self,
        limits: Sequence[tuple[int, int | None, int | None, int | None]],
        tokens: int,
        nanos: int,
    ) -> Pending[dict[int, WindowCounters]]:
        """:func:`reserve`: the counters of the windows whose limits held."""
        s = self.tx.batch.runner()
        cursor = reserve(s, limits, tokens, nanos)
        return Pending(lambda: counters_by_id(s.fetchall(cursor)))

    def count(
        self,
        use_ids: Sequence[int],
        tokens: int,
        nanos: int,
        *,
        allocation_id: str,
        held_ids: Sequence[int],
        release: bool = False,
    ) -> Pending[dict[int, WindowCounters]]:
        """:func:`count`: usage drawn from an allocation; the counters after."""
        s = self.tx.batch.runner()
        cursor = count(
            s,
            use_ids,
            tokens,
            nanos,
            allocation_id=allocation_id,
            held_ids=held_ids,
            release=release,
        )
        if cursor is None:
            return Pending(dict)
        return Pending(lambda: counters_by_id(s.fetchall(cursor)))

    def add_used_each(
        self, added: dict[int, tuple[int, int, int]]
    ) -> Pending[dict[int, WindowCounters]]:
        """:func:`add_used_each`: usage drawn from no allocation; the counters after."""
        if not added:
            return Pending(dict)
        s = self.tx.batch.runner()
        cursor = add_used_each(s, added)
        return Pending(lambda: counters_by_id(s.fetchall(cursor)))

    # -- finding, creating and retiring windows --

    def find(self, policy_id: str, window_key: str) -> int | None:
        """The id of a policy's window with this key, if it exists."""
        return self.tx.execute(_FIND, {"pid": policy_id, "key": window_key}).scalar()

    def insert(
        self, policy: Policy, span: WindowSpan, counters: WindowCounters, now: datetime
    ) -> int:
        """Create the window (unless another transaction just did) starting
        from ``counters``; its id."""
        self.tx.execute(
            insert_ignoring_conflicts(self.tx, t.windows).values(
                policy_id=policy.policy_id,
                window_key=span.key,
                starts_at=span.starts_at,
                ends_at=span.ends_at,
                used_tokens=counters.used_tokens,
                reserved_tokens=0,
                used_nanos=counters.used_nanos,
                reserved_nanos=0,
                used_requests=counters.used_requests,
                created_at=now,
                subject=dict(span.subject) or None,
            )
        )
        return self.tx.execute(_FIND, {"pid": policy.policy_id, "key": span.key}).scalar_one()

    def counters(self, policy_id: str, window_key: str) -> WindowCounters | None:
        """A window's counters, None if it does not exist."""
        row = self.tx.execute(_READ_BY_KEY, {"pid": policy_id, "key": window_key}).first()
        return None if row is None else counters_of_row(row)

    # -- expiry --

    def lock_rows(self, window_ids: Sequence[int]) -> None:
        """PostgreSQL: lock these windows in id order (a statement of its own)."""
        lock_rows(self.tx.conn, t.windows, list(window_ids))

    def return_reserved(self, window_ids: Sequence[int], tokens: int, nanos: int) -> None:
        """Take ``tokens`` and ``nanos`` out of these windows' reservations."""
        if window_ids and (tokens or nanos):
            self.tx.execute(
                _ADD_RESERVED, {"ids": list(window_ids), "tokens": -tokens, "nanos": -nanos}
            )
