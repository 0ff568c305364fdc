"""Where a new window starts: the spend already in the ledger that it covers.

A window is created the first time a request meets its policy; before that,
usage inside its span was recorded without it (the policy did not exist yet,
or covered other requests before a change). So a window starts with the
ledger's usage inside its span that the policy's scope covers, tags included,
from the policy's ``starts_at`` (and, with ``count_existing=False``, from the
policy's creation): every token for ``used_tokens``, priced usage for
``used_nanos``. Calendar and total windows are summed from the rollups (plus
the ledger for sub-hour edges), per-session and per-task windows from the
ledger rows of that session or task.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, func, select

from budget.domain import limits
from budget.domain.enums import Period
from budget.domain.models import Policy, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan
from budget.storage import tables as t
from budget.storage.rollups import records_weight

U = t.usage_records.c
_NO_BUCKETS = Bucketing.of(None, "UTC")


def seed_range(policy: Policy, span: WindowSpan) -> tuple[datetime, datetime] | None:
    """The part of ``span`` whose past usage the policy's new window counts."""
    start = max(
        d
        for d in (
            span.starts_at,
            policy.starts_at,
            None if policy.count_existing else policy.created_at,
            limits.EARLIEST,
        )
        if d is not None
    )
    end = min(d for d in (span.ends_at, policy.ends_at, limits.LATEST) if d is not None)
    return (start, end) if start < end else None


def seeded(conn: Connection, policy: Policy, span: WindowSpan) -> WindowCounters:
    """The counters a new window of ``policy`` for ``span`` starts with."""
    usage = usage_in(conn, policy, span)
    return WindowCounters(
        used_tokens=usage.input_tokens + usage.output_tokens,
        used_nanos=usage.cost_nanos,
        used_requests=usage.records,
    )


def unpriced_in(conn: Connection, policy: Policy, span: WindowSpan) -> tuple[int, int]:
    """(records, tokens) of the window's usage that had no price: what its USD
    counters cannot show."""
    usage = usage_in(conn, policy, span)
    return usage.unpriced_records, usage.unpriced_tokens


def usage_in(conn: Connection, policy: Policy, span: WindowSpan) -> agg.Counters:
    """The ledger's usage inside the window that the policy covers, summed."""
    bounds = seed_range(policy, span)
    if bounds is None:
        return agg.Counters()
    start, end = bounds
    if policy.period in (Period.PER_SESSION, Period.PER_TASK):
        return _from_ledger(conn, policy, span, start, end)
    query = agg.Query(start, end, _NO_BUCKETS, budget_policies=(policy,))
    return agg.run(conn, query, plan(start, end, _NO_BUCKETS)).totals


def _from_ledger(
    conn: Connection, policy: Policy, span: WindowSpan, start: datetime, end: datetime
) -> agg.Counters:
    from budget.storage.usage import covered_by

    kind, _, value = span.period.partition(":")
    column = U.session_id if kind == "session" else U.task_id
    unpriced = U.cost_nanos.is_(None)
    weight = records_weight()
    query = select(
        func.coalesce(func.sum(weight), 0),
        func.coalesce(func.sum(U.input_tokens), 0),
        func.coalesce(func.sum(U.output_tokens), 0),
        func.coalesce(func.sum(U.cost_nanos), 0),
        func.coalesce(func.sum(case((unpriced, weight), else_=0)), 0),
        func.coalesce(func.sum(case((unpriced, U.input_tokens + U.output_tokens), else_=0)), 0),
    ).where(column == value, U.occurred_at >= start, U.occurred_at < end)
    query = covered_by(query, [policy], conn.dialect.name == "sqlite")
    records, inp, out, nanos, unpriced_records, unpriced_tokens = conn.execute(query).one()
    return agg.Counters(
        records=int(records),
        input_tokens=int(inp),
        output_tokens=int(out),
        cost_nanos=int(nanos),
        unpriced_records=int(unpriced_records),
        unpriced_tokens=int(unpriced_tokens),
    )
