"""Which windows a request touches: its matching policies' current windows.

The counters themselves change only through :mod:`budget.storage.windows`
(one statement over all the windows of an operation, the hard limits checked
in its WHERE clause); this module finds or creates the windows (starting
from the ledger, :mod:`budget.engine.seed`), retires them when their policy
changes shape, and reads their counters for denials and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, bindparam, cast, func, literal, or_, select, text, update

from budget.domain.enums import PolicyType
from budget.domain.limits import ID_LENGTH
from budget.domain.models import Policy, RequestAttributes, WindowCounters
from budget.domain.periods import (
    CALENDAR_PERIODS,
    WindowSpan,
    calendar_window,
    load_timezone,
    window_for,
)
from budget.engine.context import EngineContext, StaleCache
from budget.engine.seed import seeded
from budget.errors import ValidationError
from budget.storage import tables as t
from budget.storage.sql import insert_ignoring_conflicts

W = t.windows.c
#: Window ids a process remembers before it starts over (a lookup refills one).
WINDOW_IDS_KEPT = 200_000


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
    *,
    gate: bool = False,
) -> list[tuple[Policy, WindowSpan]]:
    """The policies that cover a request at ``at``, each with its window.

    A policy with ``each`` comes narrowed to the request's values (its window
    counts that subject alone). A request that lacks one of them is outside
    the policy, except at the gate (``gate``: allocate and check), where a
    hard ``each`` policy refuses it: its limit could not bind otherwise."""
    out = []
    spans = ctx.calendar_spans
    for policy in ctx.policies:
        if not policy.applies_to(attrs, at):
            continue
        subject = ()
        if policy.each:
            subject = policy.subject_of(attrs)
            if subject is None:
                if gate and policy.type is PolicyType.HARD_LIMIT:
                    _refuse_missing(policy, attrs)
                continue
            policy = policy.narrowed(subject)
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
            out.append((policy, span.for_subject(subject)))
    return out


def _refuse_missing(policy: Policy, attrs: RequestAttributes) -> None:
    name = policy.missing_each(attrs)
    raise ValidationError(
        name,
        None,
        f"hard_limit policy {policy.name!r} ({policy.policy_id}) keeps a window per {name}; "
        f"a request it covers must name its {name}",
    )


def window_targets(
    ctx: EngineContext,
    conn: Connection,
    spans: list[tuple[Policy, WindowSpan]],
    now: datetime,
    created: dict[tuple[str, str], int],
) -> list[Target]:
    """Targets with their window ids (``ensure_windows`` made them before the
    transaction). Ids looked up here go to ``created``; the caller caches them
    once the transaction commits. A window gone since (a policy change
    replaced it) means the plan is stale: :class:`StaleCache`."""
    ids = ctx.window_ids
    targets = []
    for policy, span in spans:
        key = (policy.policy_id, span.key)
        window_id = ids.get(key) or created.get(key)
        if window_id is None:
            window_id = conn.execute(_FIND, {"pid": policy.policy_id, "key": span.key}).scalar()
            if window_id is None:
                raise StaleCache()
            created[key] = window_id
        targets.append(Target(policy, span, window_id))
    return targets


_FIND = select(W.id).where(W.policy_id == bindparam("pid"), W.window_key == bindparam("key"))


def ensure_windows(ctx: EngineContext, spans: list[tuple[Policy, WindowSpan]], now: datetime):
    """Make sure every window of ``spans`` exists, creating the missing ones
    from the ledger (see :mod:`budget.engine.seed`), each in a short
    transaction of its own, before the caller's transaction starts."""
    missing = [(p, s) for p, s in spans if (p.policy_id, s.key) not in ctx.window_ids]
    if not missing:
        return
    if len(ctx.window_ids) > WINDOW_IDS_KEPT:  # past windows, or many subjects of an each policy
        ctx.window_ids.clear()
    with ctx.db.read() as conn:
        for policy, span in missing:
            found = conn.execute(_FIND, {"pid": policy.policy_id, "key": span.key}).scalar()
            if found is not None:
                ctx.window_ids[(policy.policy_id, span.key)] = found
    for policy, span in missing:
        key = (policy.policy_id, span.key)
        if key not in ctx.window_ids:
            ctx.window_ids[key] = ctx.db.run_write(
                lambda conn, p=policy, s=span: create_window(conn, p, s, now)
            )


def create_window(conn: Connection, policy: Policy, span: WindowSpan, now: datetime) -> int:
    """The id of a policy's window, created if missing with the ledger's usage inside it.

    On PostgreSQL the transaction first takes a SHARE lock on the ledger: it
    waits for every transaction that has written usage to finish (so their
    rows are in the sum) and holds new ledger writes back until the window is
    committed (so they find it and count on it themselves, or restart on a
    changed policy version, which writes check after their ledger insert).
    Nothing else waits: allocations do not write the ledger. SQLite writes one
    transaction at a time anyway.
    """
    found = conn.execute(_FIND, {"pid": policy.policy_id, "key": span.key}).scalar()
    if found is not None:
        return found
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE usage_records IN SHARE MODE"))
    counters = seeded(conn, policy, span)
    conn.execute(
        insert_ignoring_conflicts(conn, t.windows).values(
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
    return conn.execute(_FIND, {"pid": policy.policy_id, "key": span.key}).scalar_one()


def supersede_windows(conn: Connection, policy_id: str, now: datetime) -> None:
    """Retire a policy's live windows after a change of its scope or dates: each
    keeps its row (live reservations give back to it) under a new key, and the
    next request creates a fresh window from the ledger in its place."""
    retired_key = func.substr(
        literal("~") + cast(W.id, String) + literal(":") + W.window_key, 1, ID_LENGTH
    )
    conn.execute(
        update(t.windows)
        .where(
            W.policy_id == policy_id,
            W.superseded_at.is_(None),
            or_(W.ends_at.is_(None), W.ends_at > now),
        )
        .values(window_key=retired_key, superseded_at=now)
    )


def current_counters(conn: Connection, policy: Policy, span: WindowSpan) -> WindowCounters:
    """A window's counters, or those it would start with if not created yet."""
    row = conn.execute(_READ_BY_KEY, {"pid": policy.policy_id, "key": span.key}).first()
    if row is None:
        return seeded(conn, policy, span)
    return counters_of_row(row)


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


def counters_of_row(row) -> WindowCounters:
    """The counters of a windows row."""
    return WindowCounters(
        row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos, row.used_requests
    )


_READ_BY_KEY = select(
    W.used_tokens, W.reserved_tokens, W.used_nanos, W.reserved_nanos, W.used_requests
).where(W.policy_id == bindparam("pid"), W.window_key == bindparam("key"))
