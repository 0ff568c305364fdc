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

from budget.domain import limits
from budget.domain.enums import Period
from budget.domain.models import Policy, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan
from budget.engine.insight.rollups import RECORDS_OF_KIND
from budget.storage.unit import Unit

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


def seeded(tx: Unit, policy: Policy, span: WindowSpan) -> WindowCounters:
    """The counters a new window of ``policy`` for ``span`` starts with."""
    usage = usage_in(tx, policy, span)
    return WindowCounters(
        used_tokens=usage.input_tokens + usage.output_tokens,
        used_nanos=usage.cost_nanos,
        used_requests=usage.records,
    )


def unpriced_in(tx: Unit, policy: Policy, span: WindowSpan) -> tuple[int, int]:
    """(records, tokens) of the window's usage that had no price: what its USD
    counters cannot show."""
    usage = usage_in(tx, policy, span)
    return usage.unpriced_records, usage.unpriced_tokens


def usage_in(tx: Unit, policy: Policy, span: WindowSpan) -> agg.Counters:
    """The ledger's usage inside the window that the policy covers, summed."""
    bounds = seed_range(policy, span)
    if bounds is None:
        return agg.Counters()
    start, end = bounds
    if policy.period in (Period.PER_SESSION, Period.PER_TASK):
        subject, _, value = span.period.partition(":")
        found = tx.window_seeds.ledger_usage(policy, subject, value, start, end, RECORDS_OF_KIND)
        return agg.Counters(**found)
    query = agg.Query(start, end, _NO_BUCKETS, budget_policies=(policy,))
    return agg.run(tx, query, plan(start, end, _NO_BUCKETS)).totals
