"""The read side's decisions without a database: fake repositories stand in
for storage (ledger reads, exports, window history, live windows, /metrics)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, ScopeFilter, WindowCounters
from budget.engine import export, metrics_snapshot, metrics_windows, queries, retention, summaries
from budget.engine.insight.rollups import RECORDS_OF_KIND
from budget.errors import ValidationError
from budget.storage.denial_counts import DenialCount
from budget.storage.metrics_reads import OutboxState
from budget.storage.retention import BATCH, OldLedger
from budget.storage.usage import UsageFilter
from budget.storage.window_reads import StoredWindow

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


class FakeDb:
    """Hands every transaction the same fake unit; counts the transactions."""

    is_sqlite = True

    def __init__(self, **repositories: object) -> None:
        self.unit = SimpleNamespace(**repositories)
        self.transactions = 0

    @contextmanager
    def read(self):
        self.transactions += 1
        yield self.unit

    write = read

    def run_write(self, work):
        with self.write() as tx:
            return work(tx)


def fake_ctx(**repositories: object) -> SimpleNamespace:
    return SimpleNamespace(db=FakeDb(**repositories), settings=SimpleNamespace(sweep_batch=10))


def policy(**changes: object) -> Policy:
    values: dict = dict(
        policy_id="pol_1",
        budget_id="bud_1",
        name="daily",
        type=PolicyType.HARD_LIMIT,
        period=Period.DAILY,
        timezone="UTC",
        scope=ScopeFilter(),
        token_limit=1000,
        cost_limit_nanos=None,
        warning_thresholds=(),
        action_threshold=None,
        critical_headroom=Decimal("0"),
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=NOW,
        updated_at=NOW,
    )
    values.update(changes)
    return Policy(**values)


class Usage:
    """A ledger of plain numbers: records are the ints 0 .. size-1."""

    def __init__(self, size: int = 0) -> None:
        self.size = size
        self.asked: list[tuple] = []

    def page(self, wanted, limit, offset):
        self.asked.append(("page", wanted, limit, offset))
        return [], 0

    def totals(self, wanted, records_of_kind):
        self.asked.append(("totals", wanted, records_of_kind))
        return 3, 120, 1_500_000_000, 1

    def export_page(self, wanted, after, size):
        self.asked.append(("export", after, size))
        start = 0 if after is None else after + 1
        records = list(range(start, min(start + size, self.size)))
        return records, (records[-1] if records else None)


def test_a_ledger_page_is_read_with_the_checked_filter() -> None:
    usage = Usage()
    ctx = fake_ctx(usage=usage)
    queries.list_usage(ctx, since="2026-03-01T00:00:00Z", priced=False, model="m", limit=5)
    (_, wanted, limit, offset) = usage.asked[0]
    assert (limit, offset) == (5, 0)
    assert wanted == UsageFilter(
        (("model", "m"),), datetime(2026, 3, 1, tzinfo=UTC), None, False, None
    )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
    ],
)
def test_a_bad_ledger_filter_is_refused_before_any_read(arguments: dict, field: str) -> None:
    ctx = fake_ctx(usage=Usage())
    with pytest.raises(ValidationError) as err:
        queries.list_usage(ctx, **arguments)
    assert err.value.field == field
    assert ctx.db.transactions == 0


def test_usage_totals_weigh_corrections_and_show_dollars() -> None:
    usage = Usage()
    totals = queries.usage_totals(fake_ctx(usage=usage))
    assert usage.asked[0][2] == RECORDS_OF_KIND
    assert totals == {
        "records": 3,
        "tokens": 120,
        "cost": Decimal("1.5"),
        "unpriced_records": 1,
    }


def test_an_allocation_status_is_checked_and_passed_as_its_value() -> None:
    asked = {}

    class AllocationReads:
        def page(self, **kwargs):
            asked.update(kwargs)
            return [], 0

    ctx = fake_ctx(allocation_reads=AllocationReads())
    queries.list_allocations(ctx, status="active", context_id="c")
    assert asked == dict(context_id="c", status="active", api_key=None, limit=100, offset=0)
    with pytest.raises(ValidationError):
        queries.list_allocations(ctx, status="lost")


def test_an_export_reads_pages_after_its_cursor_until_a_short_one() -> None:
    usage = Usage(size=7)
    ctx = fake_ctx(usage=usage)
    assert list(export.iter_usage(ctx, page_size=3)) == list(range(7))
    assert usage.asked == [("export", None, 3), ("export", 2, 3), ("export", 5, 3)]
    assert ctx.db.transactions == 3  # one short read transaction per page


def test_an_export_checks_its_filters_before_the_first_page() -> None:
    ctx = fake_ctx(usage=Usage(size=7))
    with pytest.raises(ValidationError):
        export.iter_usage(ctx, colour="red")
    with pytest.raises(ValidationError):
        export.iter_usage(ctx, page_size=0)
    assert ctx.db.transactions == 0


def test_window_history_shows_a_superseded_window_by_the_key_it_had(monkeypatch) -> None:
    used = WindowCounters(used_tokens=250, used_nanos=0)
    stored = [
        StoredWindow("2026-03-14", NOW, None, None, None, used),
        StoredWindow("~7:2026-03-13", NOW, None, {"user": "a"}, NOW, used),
    ]
    asked = []

    class WindowReads:
        def history(self, policy_id, wanted, limit):
            asked.append((policy_id, wanted, limit))
            return stored

    monkeypatch.setattr(summaries, "get_policy", lambda ctx, policy_id: policy())
    past = summaries.window_history(fake_ctx(window_reads=WindowReads()), "pol_1", 2, ["user=a"])
    assert asked == [("pol_1", {"user": "a"}, 2)]
    assert [(p.window, p.peak_fill, p.subject) for p in past] == [
        ("2026-03-14", Decimal("0.25"), None),
        ("2026-03-13", Decimal("0.25"), {"user": "a"}),
    ]


class WindowReads:
    def __init__(self, by_key: dict, fullest: dict) -> None:
        self.by_key, self.fullest = by_key, fullest

    def counters_by_key(self, policy_ids, keys):
        return self.by_key

    def fullest_subjects(self, policy_ids, starts):
        return self.fullest


def test_live_windows_serve_policies_in_force_of_live_budgets() -> None:
    daily = policy()
    each = policy(policy_id="pol_2", name="per user", each=("user",))
    ended = policy(policy_id="pol_3", ends_at=NOW)
    elsewhere = policy(policy_id="pol_4", budget_id="bud_gone")
    start = datetime(2026, 3, 14, tzinfo=UTC)
    reads = WindowReads(
        {("pol_1", "2026-03-14"): WindowCounters(used_tokens=10)},
        {("pol_2", start): (WindowCounters(used_tokens=40), 3)},
    )
    fills = metrics_windows.live_windows(
        SimpleNamespace(window_reads=reads), [daily, each, ended, elsewhere], {"bud_1": "B"}, NOW
    )
    assert [(f.policy.policy_id, f.counters.used_tokens, f.subjects) for f in fills] == [
        ("pol_1", 10, None),
        ("pol_2", 40, 3),
    ]
    assert fills[1].utilization() == {"tokens": 0.04}


def test_a_snapshot_names_denials_of_live_policies_only() -> None:
    class Metrics:
        def budget_names(self):
            return {"bud_1": "B"}

        def usage_by_model(self):
            return []

        def denial_counts(self):
            return [
                DenialCount("bud_1", "pol_1", "tokens", 4, NOW),
                DenialCount("bud_1", "pol_gone", "tokens", 1, NOW),
            ]

        def webhook_queues(self):
            return []

        def outbox_state(self):
            return OutboxState(0, 0, 0, None)

        def active_price_sources(self):
            return [("litellm", "not_modified", NOW, NOW)]

    ctx = fake_ctx(metrics=Metrics(), window_reads=WindowReads({}, {}))
    ctx.reload = lambda: None
    ctx.policies = [policy(ends_at=NOW)]  # ended: no live window, its denials still show
    snapshot = metrics_snapshot.take_snapshot(ctx)
    assert [(d.budget, d.policy_name, d.count.denials) for d in snapshot.denials] == [
        ("B", "daily", 4)
    ]
    assert snapshot.windows == ()
    assert [(s.name, s.healthy) for s in snapshot.price_sources] == [("litellm", True)]


def test_the_ledger_kept_by_a_prune_is_that_of_live_never_ending_windows() -> None:
    kept = [
        policy(policy_id="total", period=Period.TOTAL),
        policy(policy_id="session", period=Period.PER_SESSION, enabled=False),
    ]
    dropped = [policy(), policy(policy_id="ended", period=Period.PER_TASK, ends_at=NOW)]
    old = retention.old_ledger_where(fake_ctx(), kept + dropped, NOW, NOW)
    assert old == OldLedger(NOW, tuple(kept))


def test_a_prune_deletes_in_batches_until_a_short_one(monkeypatch) -> None:
    class Retention:
        def __init__(self) -> None:
            self.batches = [BATCH, 3]

        def delete_finished_deliveries(self, cut):
            return self.batches.pop(0) if self.batches else 0

        def last_prunable_sequence(self, cut):
            return 9

        def delete_delivered_events(self, cut, upto):
            return 2

        def delete_closed_allocations(self, cut):
            return 1, 2

    ctx = fake_ctx(retention=Retention())
    ctx.held = SimpleNamespace(clear=lambda: None)
    monkeypatch.setattr(retention, "utcnow", lambda: NOW)
    report = retention.prune(ctx, "1d")
    assert report.counts == {
        "webhook_deliveries": BATCH + 3,
        "events": 2,
        "allocation_windows": 2,
        "allocations": 1,
    }
    assert report.cut == datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
