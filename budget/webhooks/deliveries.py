"""The delivery queue in the database: fan events out to webhooks, claim due
deliveries, record how each attempt went.

Every step is a short transaction; no transaction is held while a receiver
is called. A claim moves a delivery's ``next_attempt_at`` past a lease, so
no other dispatcher (thread or process) takes it meanwhile; on PostgreSQL the
claim also locks the rows with ``FOR UPDATE SKIP LOCKED``, so concurrent
dispatchers never wait for each other nor take the same delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, literal, select, update

from budget.events.outbox import events_by_sequence, last_sequence
from budget.events.types import Event
from budget.storage.sql import insert_ignoring_conflicts
from budget.storage.tables import UTCDateTime
from budget.storage.tables_events import events, webhook_deliveries, webhooks
from budget.webhooks.webhooks import DEAD, DELIVERED, PENDING

E = events.c
D = webhook_deliveries.c
H = webhooks.c
_COLUMNS = [
    "webhook_id",
    "event_seq",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


@dataclass(frozen=True)
class Claim:
    """A delivery taken for one attempt: where to send what, in which form
    (``kind``), signed with which secrets (the current one first)."""

    delivery_id: int
    webhook_id: str
    url: str
    secrets: tuple[str, ...]
    attempts: int
    event: Event
    kind: str = "generic"


@dataclass(frozen=True)
class Outcome:
    """How one claimed delivery went. ``attempted`` False: it was not tried
    (an earlier one to the same receiver failed) and goes back to the queue."""

    claim: Claim
    ok: bool
    status_code: int | None = None
    error: str | None = None
    attempted: bool = True


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def backlog(conn: Connection) -> bool:
    """True if some active webhook has not been fanned out up to the last event."""
    lowest = conn.execute(select(func.min(H.cursor)).where(H.active.is_(True))).scalar()
    return lowest is not None and lowest < last_sequence(conn)


def any_due(conn: Connection, now: datetime) -> bool:
    """True if some delivery waits for an attempt now."""
    query = select(D.id).where(D.status == PENDING, D.next_attempt_at <= now).limit(1)
    return conn.execute(query).first() is not None


def fan_out(conn: Connection, now: datetime, batch: int = 5000) -> int:
    """Turn new events into pending deliveries of every active webhook whose
    filters they pass; returns how many deliveries were created."""
    query = select(H.id, H.cursor, H.event_types, H.budget_id).where(H.active.is_(True))
    if _is_pg(conn):
        query = query.with_for_update(skip_locked=True)
    top = last_sequence(conn)
    created = 0
    for hook in conn.execute(query.order_by(H.id)).all():
        if hook.cursor >= top:
            continue
        upto = min(top, hook.cursor + batch)
        created += _fan_out_one(conn, hook, upto, now)
        conn.execute(update(webhooks).where(H.id == hook.id).values(cursor=upto))
    return created


def _fan_out_one(conn: Connection, hook, upto: int, now: datetime) -> int:
    when = literal(now, UTCDateTime())
    chosen = select(
        literal(hook.id),
        E.seq,
        E.event_id,
        E.type,
        literal(PENDING),
        literal(0),
        when,
        when,
    ).where(E.seq > hook.cursor, E.seq <= upto)
    if hook.event_types:
        chosen = chosen.where(E.type.in_(list(hook.event_types)))
    if hook.budget_id:
        chosen = chosen.where(E.budget_ids.contains(f" {hook.budget_id} ", autoescape=True))
    stmt = insert_ignoring_conflicts(
        conn, webhook_deliveries, index_elements=["webhook_id", "event_seq"]
    ).from_select(_COLUMNS, chosen)
    return conn.execute(stmt).rowcount or 0


def claim_due(
    conn: Connection,
    now: datetime,
    lease: timedelta,
    per_webhook: int,
    skip: Iterable[str] = (),
) -> list[Claim]:
    """Take up to ``per_webhook`` due deliveries of each active webhook not in
    ``skip`` (oldest first), leasing them until ``now + lease``."""
    skipped = set(skip)
    columns = (H.id, H.url, H.kind, H.secret, H.previous_secret, H.previous_secret_expires_at)
    hooks = conn.execute(select(*columns).where(H.active.is_(True)).order_by(H.id)).all()
    picked: list[tuple[int, int, int, object]] = []
    for hook in hooks:
        if hook.id in skipped:
            continue
        query = (
            select(D.id, D.event_seq, D.attempts)
            .where(D.webhook_id == hook.id, D.status == PENDING, D.next_attempt_at <= now)
            .order_by(D.next_attempt_at, D.id)
            .limit(per_webhook)
        )
        if _is_pg(conn):
            query = query.with_for_update(skip_locked=True)
        picked.extend((r.id, r.event_seq, r.attempts, hook) for r in conn.execute(query).all())
    if not picked:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(D.id.in_([p[0] for p in picked]))
        .values(next_attempt_at=now + lease)
    )
    found = events_by_sequence(conn, (p[1] for p in picked))
    return [
        Claim(did, hook.id, hook.url, _secrets(hook, now), attempts, found[seq], hook.kind)  # type: ignore[attr-defined]
        for did, seq, attempts, hook in picked
        if seq in found
    ]


def _secrets(hook, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its overlap lasts."""
    until = hook.previous_secret_expires_at
    if hook.previous_secret and until is not None and until > now:
        return (hook.secret, hook.previous_secret)
    return (hook.secret,)


_DONE = (
    update(webhook_deliveries)
    .where(D.id == bindparam("did"))
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        next_attempt_at=bindparam("next_at"),
        last_attempt_at=bindparam("tried_at"),
        last_status_code=bindparam("code"),
        last_error=bindparam("error"),
        delivered_at=bindparam("done_at"),
    )
)
_RELEASE = (
    update(webhook_deliveries)
    .where(D.id == bindparam("did"))
    .values(next_attempt_at=bindparam("next_at"))
)


def record_outcomes(
    conn: Connection,
    outcomes: list[Outcome],
    now: datetime,
    max_attempts: int,
    delay: Callable[[int], float],
) -> None:
    """Store each attempt: delivered; or failed and pending again after
    ``delay(attempts)`` seconds; or dead after ``max_attempts``. Deliveries
    that were not tried go back to the queue at the time of the failure's retry."""
    done, released = [], []
    retry_at = now
    for out in outcomes:
        if not out.attempted:
            continue
        attempts = out.claim.attempts + 1
        status = DELIVERED if out.ok else (DEAD if attempts >= max_attempts else PENDING)
        next_at = now if out.ok else now + timedelta(seconds=delay(attempts))
        retry_at = max(retry_at, next_at)
        done.append(
            {
                "did": out.claim.delivery_id,
                "new_status": status,
                "new_attempts": attempts,
                "next_at": next_at,
                "tried_at": now,
                "code": out.status_code,
                "error": None if out.ok else (out.error or "failed")[:1000],
                "done_at": now if out.ok else None,
            }
        )
    for out in outcomes:
        if not out.attempted:
            released.append({"did": out.claim.delivery_id, "next_at": retry_at})
    if done:
        conn.execute(_DONE, done)
    if released:
        conn.execute(_RELEASE, released)
