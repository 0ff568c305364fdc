"""Every live window's fill, for ``/metrics``: read from the window rows.

A live window is the current period's window of a calendar policy (minute to
monthly) or the one window of a ``total`` policy, for every policy in force
(enabled, within its dates, of a live and active budget). Per-session and
per-task windows are not served: there is one per session, which would make
a series per session. A window not created yet (no request met it this
period) shows what it will start with, as ``budget summary`` does. A policy
with ``each`` has a window per subject: it shows the fullest subject per
limit kind and how many subjects have a window this period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from budget.domain.models import Policy, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.seed import seeded
from budget.engine.summaries import current_span
from budget.storage.unit import Unit


@dataclass(frozen=True)
class WindowFill:
    """One live window of one policy: its counters and the policy's limits."""

    budget: str
    policy: Policy
    span: WindowSpan
    counters: WindowCounters
    #: ``each`` policies: subjects with a window this period (None otherwise).
    subjects: int | None = None

    def utilization(self) -> dict[str, float]:
        """(used + reserved) / limit per limit kind the policy has."""
        c, p = self.counters, self.policy
        out = {}
        if p.token_limit:
            out["tokens"] = (c.used_tokens + c.reserved_tokens) / p.token_limit
        if p.cost_limit_nanos:
            out["usd"] = (c.used_nanos + c.reserved_nanos) / p.cost_limit_nanos
        if p.request_limit:
            out["requests"] = c.used_requests / p.request_limit
        return out


def live_windows(
    tx: Unit, policies: Iterable[Policy], budgets: Mapping[str, str], now: datetime
) -> list[WindowFill]:
    """The live window of each policy in force whose budget is in ``budgets`` (id -> name)."""
    plain: list[tuple[Policy, WindowSpan]] = []
    each: list[tuple[Policy, WindowSpan]] = []
    for policy in policies:
        if policy.budget_id not in budgets or not policy.in_force(now):
            continue
        span = current_span(policy, now)
        if span is not None:
            (each if policy.each else plain).append((policy, span))
    found = _rows_by_key(tx, plain)
    out = []
    for policy, span in plain:
        counters = found.get((policy.policy_id, span.key))
        if counters is None:  # not created yet: what it will start with
            counters = seeded(tx, policy, span)
        out.append(WindowFill(budgets[policy.budget_id], policy, span, counters))
    fullest = _fullest_subjects(tx, each)
    for policy, span in each:
        counters, subjects = fullest.get((policy.policy_id, span.starts_at), (WindowCounters(), 0))
        out.append(WindowFill(budgets[policy.budget_id], policy, span, counters, subjects))
    return out


def _rows_by_key(
    tx: Unit, wanted: list[tuple[Policy, WindowSpan]]
) -> dict[tuple[str, str], WindowCounters]:
    """The window rows of these (policy, span) pairs, in one query."""
    if not wanted:
        return {}
    ids, keys = (p.policy_id for p, _ in wanted), (s.key for _, s in wanted)
    return tx.window_reads.counters_by_key(ids, keys)


def _fullest_subjects(
    tx: Unit, wanted: list[tuple[Policy, WindowSpan]]
) -> dict[tuple[str, datetime | None], tuple[WindowCounters, int]]:
    """Per (policy, period start): the largest counters among the subjects'
    windows (each limit kind on its own) and how many subjects have one, for
    these ``each`` policies' current periods, in one query."""
    if not wanted:
        return {}
    starts = [s.starts_at for _, s in wanted if s.starts_at is not None]
    return tx.window_reads.fullest_subjects((p.policy_id for p, _ in wanted), starts)
