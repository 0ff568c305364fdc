"""The database-sourced families of ``/metrics``: a prometheus_client Collector
over :meth:`BudgetService.metrics_snapshot` (docs/metrics.md lists them all).

Only adaptation happens here: names, labels, units (USD and seconds as float,
which Prometheus requires; the exact Decimal totals stay in the API).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from budget.domain.money import NANOS_PER_USD
from budget.engine.metrics_snapshot import MetricsSnapshot
from budget.engine.metrics_windows import WindowFill
from budget.errors import BudgetError

log = logging.getLogger("budget.metrics")
MODEL = ["provider", "model"]
WINDOW = ["budget", "policy", "policy_id", "period"]


def usd(nanos: int) -> float:
    """Nano-USD as float USD (the nearest float to the exact amount)."""
    return nanos / NANOS_PER_USD


def seconds(at: datetime) -> float:
    """A time as Unix seconds."""
    return at.timestamp()


class Snapshots(Protocol):
    """What the collector reads: :class:`budget.BudgetService` has it."""

    def metrics_snapshot(self) -> MetricsSnapshot: ...


class DatabaseCollector(Collector):
    """Collects the snapshot of the service ``service()`` returns at scrape time."""

    def __init__(self, service: Callable[[], Snapshots]) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "budget_metrics_database_up", "1 if the database-sourced metrics could be read."
        )
        try:
            snapshot = self._service().metrics_snapshot()
        except BudgetError as exc:
            log.warning("metrics: the database could not be read: %s", exc.message)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _snapshot_meta(snapshot)
        yield from usage_families(snapshot)
        yield from window_families(snapshot.windows)
        yield from denial_families(snapshot)
        yield from queue_families(snapshot)
        yield from price_source_families(snapshot)


def _snapshot_meta(s: MetricsSnapshot) -> Iterator[Metric]:
    collect = GaugeMetricFamily(
        "budget_metrics_collect_seconds",
        "Seconds this process's last read of the database-sourced metrics took.",
    )
    collect.add_metric([], s.collect_seconds)
    taken = GaugeMetricFamily(
        "budget_metrics_snapshot_timestamp_seconds",
        "When the database-sourced metrics served now were read (cached per process).",
    )
    taken.add_metric([], seconds(s.taken_at))
    yield collect
    yield taken


def usage_families(s: MetricsSnapshot) -> Iterator[Metric]:
    """Spend, tokens, records and unpriced usage by provider and model (all time)."""
    spend = CounterMetricFamily(
        "budget_spend_usd", "Priced spend recorded, in USD, by provider and model.", labels=MODEL
    )
    tokens = CounterMetricFamily(
        "budget_tokens",
        "Tokens recorded by provider, model and disjoint kind "
        "(input = uncached input; output excludes reasoning).",
        labels=[*MODEL, "kind"],
    )
    records = CounterMetricFamily(
        "budget_usage_records", "Usage records, by provider and model.", labels=MODEL
    )
    unpriced_records = CounterMetricFamily(
        "budget_unpriced_records", "Usage records without a known price.", labels=MODEL
    )
    unpriced_tokens = CounterMetricFamily(
        "budget_unpriced_tokens", "Tokens of usage without a known price.", labels=MODEL
    )
    spend_fix = GaugeMetricFamily(
        "budget_spend_corrections_usd",
        "Net change of the spend by ledger corrections (void, adjust), in USD.",
        labels=MODEL,
    )
    tokens_fix = GaugeMetricFamily(
        "budget_tokens_corrections",
        "Net change of the tokens by ledger corrections, by kind.",
        labels=[*MODEL, "kind"],
    )
    for m in s.models:
        labels = [m.provider, m.model]
        kinds = m.tokens().items()
        if m.correction:
            spend_fix.add_metric(labels, usd(m.cost_nanos))
            for kind, n in kinds:
                tokens_fix.add_metric([*labels, kind], n)
            continue
        spend.add_metric(labels, usd(m.cost_nanos))
        records.add_metric(labels, m.records)
        for kind, n in kinds:
            tokens.add_metric([*labels, kind], n)
        unpriced_records.add_metric(labels, m.unpriced_records)
        unpriced_tokens.add_metric(labels, m.unpriced_tokens)
    yield from (spend, tokens, records, unpriced_records, unpriced_tokens, spend_fix, tokens_fix)


def window_families(windows: tuple[WindowFill, ...]) -> Iterator[Metric]:
    """Fill, counters and limits of every live window, one series per policy."""

    def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=[*WINDOW, *extra])

    ratio = gauge(
        "budget_window_utilization_ratio",
        "(used + reserved) / limit of the live window, per limit kind.",
        ("limit_kind",),
    )
    info = gauge(
        "budget_window_info",
        "The live window's key and its policy's type (value 1).",
        ("window", "policy_type"),
    )
    resets = gauge("budget_window_reset_timestamp_seconds", "When the live window ends.")
    subjects = gauge(
        "budget_window_subjects", "Subjects with a window this period (policies with each)."
    )
    counters = {
        name: gauge(f"budget_window_{name}", doc)
        for name, doc in (
            ("used_tokens", "Tokens used in the live window."),
            ("reserved_tokens", "Tokens held by live allocations in the live window."),
            ("limit_tokens", "The policy's token limit."),
            ("used_usd", "USD used in the live window."),
            ("reserved_usd", "USD held by live allocations in the live window."),
            ("limit_usd", "The policy's USD limit."),
            ("used_requests", "Requests counted in the live window."),
            ("limit_requests", "The policy's request limit."),
        )
    }
    for w in windows:
        p, c = w.policy, w.counters
        labels = [w.budget, p.name, p.policy_id, p.period.value]
        info.add_metric([*labels, w.span.key, p.type.value], 1)
        for kind, value in w.utilization().items():
            ratio.add_metric([*labels, kind], value)
        if w.span.ends_at is not None:
            resets.add_metric(labels, seconds(w.span.ends_at))
        if w.subjects is not None:
            subjects.add_metric(labels, w.subjects)
        values = {
            "used_tokens": c.used_tokens,
            "reserved_tokens": c.reserved_tokens,
            "limit_tokens": p.token_limit,
            "used_usd": usd(c.used_nanos),
            "reserved_usd": usd(c.reserved_nanos),
            "limit_usd": None if p.cost_limit_nanos is None else usd(p.cost_limit_nanos),
            "used_requests": c.used_requests,
            "limit_requests": p.request_limit,
        }
        for name, value in values.items():
            if value is not None:
                counters[name].add_metric(labels, value)
    yield from (ratio, info, resets, subjects, *counters.values())


def denial_families(s: MetricsSnapshot) -> Iterator[Metric]:
    denials = CounterMetricFamily(
        "budget_denials",
        "Allocations refused, by policy and the limit kind that refused.",
        labels=["budget", "policy", "policy_id", "limit_kind"],
    )
    for d in s.denials:
        c = d.count
        denials.add_metric([d.budget, d.policy_name, c.policy_id, c.limit_kind], c.denials)
    yield denials


def queue_families(s: MetricsSnapshot) -> Iterator[Metric]:
    """The webhook queue and the outbox."""
    now = s.taken_at
    pending = GaugeMetricFamily(
        "budget_webhook_deliveries_pending",
        "Deliveries waiting for an attempt.",
        labels=["webhook_id"],
    )
    dead = GaugeMetricFamily(
        "budget_webhook_deliveries_dead",
        "Deliveries given up on (replayable).",
        labels=["webhook_id"],
    )
    lag = GaugeMetricFamily(
        "budget_webhook_delivery_lag_seconds",
        "Age of the oldest pending delivery (0: none pending).",
        labels=["webhook_id"],
    )
    for hook in s.webhooks:
        pending.add_metric([hook.webhook_id], hook.pending)
        dead.add_metric([hook.webhook_id], hook.dead)
        oldest = hook.oldest_pending_at
        lag.add_metric([hook.webhook_id], _age(now, oldest))
    yield from (pending, dead, lag)
    o = s.outbox
    for name, doc, value in (
        (
            "budget_outbox_last_sequence",
            "The highest event sequence number given.",
            o.last_sequence,
        ),
        (
            "budget_outbox_unsequenced_events",
            "Committed events not numbered yet (PostgreSQL).",
            o.unsequenced,
        ),
        (
            "budget_outbox_lag_events",
            "Events not yet fanned out to every active webhook, unsequenced ones included.",
            o.behind,
        ),
        (
            "budget_outbox_lag_seconds",
            "Age of the oldest of those events (0: none behind).",
            _age(now, o.oldest_behind_at),
        ),
    ):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], value)
        yield family


def price_source_families(s: MetricsSnapshot) -> Iterator[Metric]:
    """Health and age of every active price source that has run."""
    src = ["source"]
    up = GaugeMetricFamily(
        "budget_price_source_up", "1 if the source's last run succeeded, else 0.", labels=src
    )
    status = GaugeMetricFamily(
        "budget_price_source_status", "The last run's status (value 1).", labels=[*src, "status"]
    )
    last_run = GaugeMetricFamily(
        "budget_price_source_last_run_timestamp_seconds", "When the source last ran.", labels=src
    )
    last_ok = GaugeMetricFamily(
        "budget_price_source_last_success_timestamp_seconds",
        "When the source last returned prices.",
        labels=src,
    )
    age = GaugeMetricFamily(
        "budget_price_source_age_seconds",
        "Seconds since the source last returned prices.",
        labels=src,
    )
    for p in s.price_sources:
        if p.status is None:
            continue  # listed, never run
        up.add_metric([p.name], 1 if p.healthy else 0)
        status.add_metric([p.name, p.status], 1)
        if p.last_run_at is not None:
            last_run.add_metric([p.name], seconds(p.last_run_at))
        if p.last_success_at is not None:
            last_ok.add_metric([p.name], seconds(p.last_success_at))
            age.add_metric([p.name], _age(s.taken_at, p.last_success_at))
    yield from (up, status, last_run, last_ok, age)


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max((now - then).total_seconds(), 0.0)
