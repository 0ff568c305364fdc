"""Window counters: find or create a policy's window, reserve, use, release.

Every change is a single UPDATE that adds to the counters in the database,
never a read-modify-write in Python, so concurrent writers cannot lose an
update. A hard limit is checked inside the UPDATE's WHERE clause: the row is
changed only if the limit still holds, which is the atomic check-and-reserve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from budget.domain.enums import PolicyType
from budget.domain.models import Policy, RequestAttributes, WindowCounters
from budget.domain.periods import WindowSpan, load_timezone, window_for
from budget.engine.context import EngineContext
from budget.storage import tables as t
from budget.storage.sql import insert_ignoring_conflicts

W = t.windows.c


@dataclass(frozen=True)
class Target:
    """One policy's window for one request."""

    policy: Policy
    span: WindowSpan
    window_id: int = 0

    @property
    def is_hard(self) -> bool:
        return self.policy.type is PolicyType.HARD_LIMIT


def matching_spans(
    ctx: EngineContext,
    attrs: RequestAttributes,
    at: datetime,
) -> list[tuple[Policy, WindowSpan]]:
    """The policies that cover a request at ``at``, each with its window."""
    out = []
    for policy in ctx.policies:
        if not policy.applies_to(attrs, at):
            continue
        span = window_for(
            policy.period,
            load_timezone(policy.timezone),
            at,
            session_id=attrs.session_id,
            task_id=attrs.task_id,
        )
        if span is not None:
            out.append((policy, span))
    return out


def ensure_windows(
    ctx: EngineContext,
    conn: Connection,
    spans: list[tuple[Policy, WindowSpan]],
    now: datetime,
    created: dict[tuple[str, str], int],
) -> list[Target]:
    """Targets with their window ids, creating missing windows.

    Ids of windows created here go to ``created``; the caller caches them only
    once the transaction commits, so a rollback never leaves a stale id behind.
    """
    targets = []
    for policy, span in spans:
        key = (policy.policy_id, span.key)
        window_id = ctx.window_ids.get(key) or created.get(key)
        if window_id is None:
            window_id = _find_or_create(conn, policy.policy_id, span, now)
            created[key] = window_id
        targets.append(Target(policy, span, window_id))
    return targets


def _find_or_create(conn: Connection, policy_id: str, span: WindowSpan, now: datetime) -> int:
    query = select(W.id).where(W.policy_id == policy_id, W.window_key == span.key)
    found = conn.execute(query).scalar()
    if found is not None:
        return found
    conn.execute(
        insert_ignoring_conflicts(conn, t.windows).values(
            policy_id=policy_id,
            window_key=span.key,
            starts_at=span.starts_at,
            ends_at=span.ends_at,
            used_tokens=0,
            reserved_tokens=0,
            used_nanos=0,
            reserved_nanos=0,
            created_at=now,
        )
    )
    return conn.execute(query).scalar_one()


def _reserve_stmt(check_tokens: bool, check_cost: bool):
    stmt = (
        update(t.windows)
        .where(W.id == bindparam("wid"))
        .values(
            reserved_tokens=W.reserved_tokens + bindparam("tokens"),
            reserved_nanos=W.reserved_nanos + bindparam("nanos"),
        )
    )
    if check_tokens:
        stmt = stmt.where(
            W.used_tokens + W.reserved_tokens + bindparam("tokens") <= bindparam("tl")
        )
    if check_cost:
        stmt = stmt.where(W.used_nanos + W.reserved_nanos + bindparam("nanos") <= bindparam("cl"))
    return stmt


# Statements are built once: building and hashing them costs more than running them.
_RESERVE = {(a, b): _reserve_stmt(a, b) for a in (False, True) for b in (False, True)}
_COUNTERS = (W.id, W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos)
_ADD_RESERVED = (
    update(t.windows)
    .where(W.id.in_(bindparam("ids", expanding=True)))
    .values(
        reserved_tokens=W.reserved_tokens + bindparam("tokens"),
        reserved_nanos=W.reserved_nanos + bindparam("nanos"),
    )
)
_ADD_USED = (
    update(t.windows)
    .where(W.id.in_(bindparam("ids", expanding=True)))
    .values(
        used_tokens=W.used_tokens + bindparam("tokens"),
        used_nanos=W.used_nanos + bindparam("nanos"),
    )
)
_ADD_RESERVED_RETURNING = _ADD_RESERVED.returning(*_COUNTERS)
_ADD_USED_RETURNING = _ADD_USED.returning(*_COUNTERS)
_READ = select(*_COUNTERS).where(W.id == bindparam("wid"))


def reserve_within_limit(
    conn: Connection, target: Target, tokens: int, nanos: int, critical: bool
) -> bool:
    """Reserve on a hard-limit window only if it stays within its limit."""
    token_limit, cost_limit = target.policy.effective_limits(critical)
    stmt = _RESERVE[(token_limit is not None, cost_limit is not None)]
    params = {
        "wid": target.window_id,
        "tokens": tokens,
        "nanos": nanos,
        "tl": token_limit,
        "cl": cost_limit,
    }
    return conn.execute(stmt, params).rowcount == 1


def add_reserved(
    conn: Connection,
    window_ids: list[int],
    tokens: int,
    nanos: int,
) -> dict[int, WindowCounters]:
    """Reserve on windows without a limit check; returns their new counters."""
    return _add(conn, _ADD_RESERVED_RETURNING, window_ids, tokens, nanos, returning=True)


def add_used(
    conn: Connection,
    window_ids: list[int],
    tokens: int,
    nanos: int,
) -> dict[int, WindowCounters]:
    """Count usage on windows; returns their new counters."""
    return _add(conn, _ADD_USED_RETURNING, window_ids, tokens, nanos, returning=True)


def return_reserved(conn: Connection, window_ids: list[int], tokens: int, nanos: int) -> None:
    """Give back what an allocation held and did not use."""
    if window_ids and (tokens or nanos):
        _add(conn, _ADD_RESERVED, window_ids, -tokens, -nanos, returning=False)


def _add(
    conn: Connection, stmt, window_ids: list[int], tokens: int, nanos: int, returning: bool
) -> dict[int, WindowCounters]:
    if not window_ids:
        return {}
    params = {"ids": window_ids, "tokens": tokens, "nanos": nanos}
    if not returning:
        conn.execute(stmt, params)
        return {}
    rows = conn.execute(stmt, params)
    return {
        row.id: WindowCounters(
            row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos
        )
        for row in rows
    }


def read_counters(conn: Connection, window_id: int) -> WindowCounters:
    row = conn.execute(_READ, {"wid": window_id}).one()
    return WindowCounters(row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos)


_READ_BY_KEY = select(W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos).where(
    W.policy_id == bindparam("pid"), W.window_key == bindparam("key")
)


def counters_of(conn: Connection, policy_id: str, key: str) -> WindowCounters:
    """A policy's window counters by key; zeros for a window not created yet."""
    row = conn.execute(_READ_BY_KEY, {"pid": policy_id, "key": key}).first()
    if row is None:
        return WindowCounters()
    return WindowCounters(row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos)
