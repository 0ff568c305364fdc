"""Reading window rows for summaries, window history and ``/metrics``.

The write path (reserve, count, give back) is in :mod:`budget.storage.windows`;
here windows are only read. A subject (the values of an ``each`` policy's
attributes) is JSON, queried differently by each database, so windows are
matched to wanted subject values here, in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, bindparam, cast, func, or_, select

from budget.domain.models import Policy, WindowCounters
from budget.storage import tables as t

if TYPE_CHECKING:
    from budget.storage.unit import Unit

W = t.windows.c


@dataclass(frozen=True)
class StoredWindow:
    """A window row: its key, dates, subject and counters."""

    #: As stored: a superseded window's is ``~<id>:<key>``.
    key: str
    starts_at: datetime | None
    ends_at: datetime | None
    #: An ``each`` policy's subject values (the stored JSON; None otherwise).
    subject: Any
    superseded_at: datetime | None
    counters: WindowCounters


def _stored(row: Any) -> StoredWindow:
    counters = WindowCounters(
        row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos, row.used_requests
    )
    return StoredWindow(
        row.window_key, row.starts_at, row.ends_at, row.subject, row.superseded_at, counters
    )


def has_subject(subject: Any, wanted: Mapping[str, str]) -> bool:
    """Whether a window's subject holds every wanted value."""
    return isinstance(subject, dict) and all(subject.get(n) == x for n, x in wanted.items())


_BY_KEYS = select(
    W.policy_id,
    W.window_key,
    W.used_tokens,
    W.reserved_tokens,
    W.used_nanos,
    W.reserved_nanos,
    W.used_requests,
).where(
    W.policy_id.in_(bindparam("ids", expanding=True)),
    W.window_key.in_(bindparam("keys", expanding=True)),
)


class WindowReads:
    """Window rows as summaries, history and metrics read them."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def recent(self, policy_id: str, limit: int) -> list[StoredWindow]:
        """The policy's newest ``limit`` windows in force (not superseded)."""
        rows = self.tx.execute(
            select(t.windows)
            .where(W.policy_id == policy_id, W.superseded_at.is_(None))
            .order_by(W.id.desc())
            .limit(limit)
        ).all()
        return [_stored(r) for r in rows]

    def subject_windows(
        self,
        policy: Policy,
        starts_at: datetime | None,
        wanted: Mapping[str, str],
        top: int,
    ) -> tuple[int, list[StoredWindow]]:
        """An ``each`` policy's windows in force of the period starting at
        ``starts_at`` (None: every period) holding the ``wanted`` subject
        values: how many there are, and the ``top`` fullest of them."""
        query = select(t.windows).where(
            W.policy_id == policy.policy_id, W.superseded_at.is_(None), W.subject.is_not(None)
        )
        if starts_at is not None:
            query = query.where(W.starts_at == starts_at)
        ordered = query.order_by(self._fullest_first(policy), W.id)
        if wanted:
            rows = [r for r in self.tx.execute(ordered) if has_subject(r.subject, wanted)]
            count, rows = len(rows), rows[:top]
        else:
            count = self.tx.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = self.tx.execute(ordered.limit(top)).all()
        return count, [_stored(r) for r in rows]

    def _fullest_first(self, policy: Policy):
        """Order windows by the largest share of a limit used or reserved."""
        shares = []
        if policy.token_limit:
            shares.append(cast(W.used_tokens + W.reserved_tokens, Float) / policy.token_limit)
        if policy.cost_limit_nanos:
            shares.append(cast(W.used_nanos + W.reserved_nanos, Float) / policy.cost_limit_nanos)
        if policy.request_limit:
            shares.append(cast(W.used_requests, Float) / policy.request_limit)
        if len(shares) == 1:
            return shares[0].desc()
        largest = func.greatest if self.tx.dialect.name == "postgresql" else func.max
        return largest(*shares).desc()

    def history(self, policy_id: str, wanted: Mapping[str, str], limit: int) -> list[StoredWindow]:
        """The policy's ``limit`` newest windows (superseded ones too) holding
        the ``wanted`` subject values (none wanted: every window)."""
        query = select(t.windows).where(W.policy_id == policy_id)
        if wanted:
            query = query.where(W.subject.is_not(None))
        rows = self.tx.execute(query.order_by(W.starts_at.desc(), W.id.desc())).yield_per(500)
        out: list[StoredWindow] = []
        for row in rows:
            if wanted and not has_subject(row.subject, wanted):
                continue
            out.append(_stored(row))
            if len(out) == limit:
                break
        return out

    def counters_by_key(
        self, policy_ids: Iterable[str], keys: Iterable[str]
    ) -> dict[tuple[str, str], WindowCounters]:
        """(policy id, window key) -> counters of the windows of those
        policies with those keys, in one query."""
        params = {"ids": sorted(set(policy_ids)), "keys": sorted(set(keys))}
        return {
            (r.policy_id, r.window_key): WindowCounters(
                r.used_tokens, r.reserved_tokens, r.used_nanos, r.reserved_nanos, r.used_requests
            )
            for r in self.tx.execute(_BY_KEYS, params)
        }

    def fullest_subjects(
        self, policy_ids: Iterable[str], starts: Iterable[datetime]
    ) -> dict[tuple[str, datetime | None], tuple[WindowCounters, int]]:
        """Per (policy, period start) among these ``each`` policies' subject
        windows in force that start at one of ``starts`` (or never start): the
        largest counters (each limit kind on its own) and how many windows, in
        one query."""
        query = (
            select(
                W.policy_id,
                W.starts_at,
                func.count(),
                func.max(W.used_tokens + W.reserved_tokens),
                func.max(W.used_nanos + W.reserved_nanos),
                func.max(W.used_requests),
            )
            .where(
                W.policy_id.in_(sorted(set(policy_ids))),
                W.superseded_at.is_(None),
                W.subject.is_not(None),
                or_(W.starts_at.in_(sorted(set(starts))), W.starts_at.is_(None)),
            )
            .group_by(W.policy_id, W.starts_at)
        )
        return {
            (r[0], r[1]): (
                WindowCounters(int(r[3] or 0), 0, int(r[4] or 0), 0, int(r[5] or 0)),
                int(r[2]),
            )
            for r in self.tx.execute(query)
        }
