"""Where a new session or task window starts, on a fake repository (no SQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

from budget.domain import limits
from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, ScopeFilter, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine import seed

CREATED = datetime(2026, 1, 5, 12, tzinfo=UTC)
POLICY = Policy(
    policy_id="pol_1",
    budget_id="bud_1",
    name="per-session",
    type=PolicyType.HARD_LIMIT,
    period=Period.PER_SESSION,
    timezone="UTC",
    scope=ScopeFilter(user="alice"),
    token_limit=1_000,
    cost_limit_nanos=None,
    warning_thresholds=(),
    action_threshold=None,
    critical_headroom=0,
    starts_at=None,
    ends_at=None,
    enabled=True,
    created_at=CREATED,
    updated_at=CREATED,
)


class FakeWindowSeeds:
    def __init__(self) -> None:
        self.asked: list[tuple] = []

    def ledger_usage(self, policy, subject, value, start, end, records_of_kind):
        self.asked.append((policy.policy_id, subject, value, start, end, dict(records_of_kind)))
        return {
            "records": 3,
            "input_tokens": 100,
            "output_tokens": 20,
            "cost_nanos": 7,
            "unpriced_records": 1,
            "unpriced_tokens": 10,
        }


def test_a_session_window_starts_from_that_session_s_ledger() -> None:
    tx = SimpleNamespace(window_seeds=FakeWindowSeeds())
    counters = seed.seeded(tx, POLICY, WindowSpan("session:s-1", None, None))
    assert counters == WindowCounters(used_tokens=120, used_nanos=7, used_requests=3)
    [(policy_id, subject, value, start, end, weights)] = tx.window_seeds.asked
    assert (policy_id, subject, value) == ("pol_1", "session", "s-1")
    assert (start, end) == (limits.EARLIEST, limits.LATEST)
    assert weights == {"usage": 1, "void": -1, "adjust": 0}  # a void takes its record back


def test_a_task_window_without_existing_spend_counts_from_the_policy_s_creation() -> None:
    tx = SimpleNamespace(window_seeds=FakeWindowSeeds())
    policy = replace(POLICY, period=Period.PER_TASK, count_existing=False)
    assert seed.unpriced_in(tx, policy, WindowSpan("task:t-9", None, None)) == (1, 10)
    [(_, subject, value, start, _, _)] = tx.window_seeds.asked
    assert (subject, value, start) == ("task", "t-9", CREATED)


def test_a_window_outside_the_policy_s_dates_asks_nothing() -> None:
    tx = SimpleNamespace(window_seeds=FakeWindowSeeds())
    policy = replace(POLICY, ends_at=CREATED, count_existing=False)
    assert seed.usage_in(tx, policy, WindowSpan("session:s-1", None, None)).records == 0
    assert tx.window_seeds.asked == []
