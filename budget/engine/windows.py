"""Which windows a request touches: its matching policies' current windows.

The counters themselves change only through :mod:`budget.storage.windows`
(one statement over all the windows of an operation, the hard limits checked
in its WHERE clause); this module finds or creates the windows and reads
their counters for denials and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from budget.domain.enums import PolicyType
from budget.domain.models import Policy, RequestAttributes, WindowCounters
from budget.domain.periods import (
    CALENDAR_PERIODS,
    WindowSpan,
    calendar_window,
    load_timezone,
    window_for,
)
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
    spans = ctx.calendar_spans
    for policy in ctx.policies:
        if not policy.applies_to(attrs, at):
            continue
        if policy.period in CALENDAR_PERIODS:
            # The calendar window holding ``at`` is unique: reuse the last one
            # while ``at`` stays inside it (computing one costs ~15 us).
            key = (policy.policy_id, policy.period, policy.timezone)
            span = spans.get(key)
            if span is None or not (span.starts_at <= at < span.ends_at):
                span = spans[key] = calendar_window(
                    policy.period, load_timezone(policy.timezone), at
                )
        else:
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


def window_targets(
    ctx: EngineContext,
    conn: Connection,
    spans: list[tuple[Policy, WindowSpan]],
    now: datetime,
    created: dict[tuple[str, str], int],
) -> list[Target]:
    """Targets with their window ids, creating missing windows in the caller's
    transaction (so a refused or failed request leaves none behind).

    Ids of windows created here go to ``created``; the caller caches them only
    once the transaction commits, so a rollback never leaves a stale id behind.
    """
    ids = ctx.window_ids
    targets = []
    for policy, span in spans:
        key = (policy.policy_id, span.key)
        window_id = ids.get(key) or created.get(key)
        if window_id is None:
            window_id = created[key] = find_or_create(conn, policy.policy_id, span, now)
        targets.append(Target(policy, span, window_id))
    return targets


def find_or_create(conn: Connection, policy_id: str, span: WindowSpan, now: datetime) -> int:
    """The id of a policy's window, created with zero counters if missing."""
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


# Statements are built once: building and hashing them costs more than running them.
_ADD_RESERVED = (
    update(t.windows)
    .where(W.id.in_(bindparam("ids", expanding=True)))
    .values(
        reserved_tokens=W.reserved_tokens + bindparam("tokens"),
        reserved_nanos=W.reserved_nanos + bindparam("nanos"),
    )
)


def return_reserved(conn: Connection, window_ids: list[int], tokens: int, nanos: int) -> None:
    """Give back what an allocation held and did not use (expiry)."""
    if window_ids and (tokens or nanos):
        conn.execute(_ADD_RESERVED, {"ids": window_ids, "tokens": -tokens, "nanos": -nanos})


_READ_BY_KEY = select(W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos).where(
    W.policy_id == bindparam("pid"), W.window_key == bindparam("key")
)


def counters_of(conn: Connection, policy_id: str, key: str) -> WindowCounters:
    """A policy's window counters by key; zeros for a window not created yet."""
    row = conn.execute(_READ_BY_KEY, {"pid": policy_id, "key": key}).first()
    if row is None:
        return WindowCounters()
    return WindowCounters(row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos)
