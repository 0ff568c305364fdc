"""The database-sourced families built from a snapshot: names, labels, units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from budget.api.metrics_db import (
    price_source_families,
    queue_families,
    usage_families,
    window_families,
)
from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, ScopeFilter, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.metrics_snapshot import MetricsSnapshot, PriceSourceState
from budget.engine.metrics_usage import model_usage
from budget.engine.metrics_windows import WindowFill
from budget.storage.metrics_reads import ModelTotals, OutboxState, WebhookQueue

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def snapshot(**parts) -> MetricsSnapshot:
    base = dict(
        taken_at=NOW,
        collect_seconds=0.01,
        models=(),
        windows=(),
        denials=(),
        webhooks=(),
        outbox=OutboxState(0, 0, 0, None),
        price_sources=(),
    )
    return MetricsSnapshot(**{**base, **parts})


def samples(families) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families
        for s in family.samples
    }


def test_token_kinds_are_disjoint_and_unpriced_rows_cost_nothing() -> None:
    rows = [
        ModelTotals("openai", "o3", True, False, 2, 1_000, 500, 300, 100, 200, 7_000_000),
        ModelTotals("openai", "o3", False, False, 1, 10, 5, 0, 0, 0, 0),
        ModelTotals("openai", "o3", True, True, -1, -10, -5, 0, 0, 0, -150_000),
    ]
    got = samples(usage_families(snapshot(models=model_usage(rows))))
    m = (("model", "o3"), ("provider", "openai"))

    def kind(k: str) -> tuple:
        return tuple(sorted((*m, ("kind", k))))

    assert got[("budget_tokens_total", kind("input"))] == 1_010 - 300 - 100
    assert got[("budget_tokens_total", kind("cache_read"))] == 300
    assert got[("budget_tokens_total", kind("cache_write"))] == 100
    assert got[("budget_tokens_total", kind("output"))] == 505 - 200
    assert got[("budget_tokens_total", kind("reasoning"))] == 200
    assert sum(v for (n, _), v in got.items() if n == "budget_tokens_total") == 1_515
    assert got[("budget_spend_usd_total", m)] == 0.007
    assert got[("budget_usage_records_total", m)] == 3
    assert got[("budget_unpriced_records_total", m)] == 1
    assert got[("budget_unpriced_tokens_total", m)] == 15
    assert got[("budget_spend_corrections_usd", m)] == -0.00015
    assert got[("budget_tokens_corrections", kind("input"))] == -10


def policy(**limits) -> Policy:
    fields = dict(
        policy_id="pol_1",
        budget_id="bud_1",
        name="daily",
        type=PolicyType.WARN,
        period=Period.DAILY,
        timezone="UTC",
        scope=ScopeFilter(),
        token_limit=None,
        cost_limit_nanos=None,
        warning_thresholds=(),
        action_threshold=None,
        critical_headroom=0,
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=NOW,
        updated_at=NOW,
    )
    return Policy(**{**fields, **limits})


def test_a_window_shows_a_ratio_only_for_the_limits_its_policy_has() -> None:
    span = WindowSpan("2026-12-01", NOW.replace(hour=0), NOW.replace(hour=0) + timedelta(days=1))
    counters = WindowCounters(used_tokens=300, reserved_tokens=100, used_nanos=2_500_000_000)
    fill = WindowFill("team", policy(cost_limit_nanos=10_000_000_000), span, counters)
    got = samples(window_families((fill,)))
    labels = (("budget", "team"), ("period", "daily"), ("policy", "daily"), ("policy_id", "pol_1"))
    ratios = {k: v for k, v in got.items() if k[0] == "budget_window_utilization_ratio"}
    assert ratios == {
        ("budget_window_utilization_ratio", (*labels[:1], ("limit_kind", "usd"), *labels[1:])): 0.25
    }
    assert got[("budget_window_used_usd", labels)] == 2.5
    assert got[("budget_window_limit_usd", labels)] == 10
    assert ("budget_window_limit_tokens", labels) not in got
    assert got[("budget_window_used_tokens", labels)] == 300


def test_price_sources_and_queues() -> None:
    sources = (
        PriceSourceState("good", "ok", NOW - timedelta(hours=1), NOW - timedelta(hours=1)),
        PriceSourceState("bad", "error", NOW, NOW - timedelta(days=2)),
        PriceSourceState("never", None, None, None),
    )
    got = samples(price_source_families(snapshot(price_sources=sources)))
    assert got[("budget_price_source_up", (("source", "good"),))] == 1
    assert got[("budget_price_source_up", (("source", "bad"),))] == 0
    assert got[("budget_price_source_status", (("source", "bad"), ("status", "error")))] == 1
    assert got[("budget_price_source_age_seconds", (("source", "bad"),))] == 2 * 86400
    assert not [k for k in got if ("source", "never") in k[1]]
    queues = snapshot(
        webhooks=(WebhookQueue("whk_1", True, 3, 1, NOW - timedelta(seconds=42)),),
        outbox=OutboxState(10, 2, 5, NOW - timedelta(seconds=7)),
    )
    got = samples(queue_families(queues))
    assert got[("budget_webhook_delivery_lag_seconds", (("webhook_id", "whk_1"),))] == 42
    assert got[("budget_webhook_deliveries_dead", (("webhook_id", "whk_1"),))] == 1
    assert got[("budget_outbox_lag_events", ())] == 5
    assert got[("budget_outbox_lag_seconds", ())] == 7


def test_a_snapshot_that_fails_yields_only_database_up_0() -> None:
    from budget.api.metrics_db import DatabaseCollector
    from budget.errors import StorageError

    class Down:
        def metrics_snapshot(self):
            raise StorageError("database unavailable: no such table: meta")

    got = samples(DatabaseCollector(lambda: Down()).collect())
    assert got == {("budget_metrics_database_up", ()): 0}
