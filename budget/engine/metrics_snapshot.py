"""What ``/metrics`` serves from the database: one snapshot, cached for a few seconds.

Every replica and every worker process reads the same rows, so they serve the
same values (the per-process HTTP metrics aside). A snapshot is a handful of
aggregate queries over small tables — rollup day rows, live windows, denial
counters, the webhook queue, the outbox head, price sources — never over the
ledger. :class:`SnapshotCache` keeps one for ``metrics_cache_seconds``, and
lets one thread take a new one while concurrent scrapes wait for it, so a
burst of scrapes costs one set of queries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from budget.clock import utcnow
from budget.engine.context import EngineContext
from budget.engine.metrics_usage import ModelUsage, model_usage
from budget.engine.metrics_windows import WindowFill, live_windows
from budget.storage import metrics_reads as reads
from budget.storage.denial_counts import DenialCount

#: A price source's last run went well with these statuses.
HEALTHY = ("ok", "not_modified")


@dataclass(frozen=True)
class PolicyDenials:
    """A live policy's denial counter for one limit kind, with its names."""

    budget: str
    policy_name: str
    count: DenialCount


@dataclass(frozen=True)
class PriceSourceState:
    """An active price source: how its last run went and when it last succeeded."""

    name: str
    status: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None

    @property
    def healthy(self) -> bool:
        """Whether its last run went well (new prices, or none changed)."""
        return self.status in HEALTHY


@dataclass(frozen=True)
class MetricsSnapshot:
    """The database's state as ``/metrics`` shows it, taken at ``taken_at``."""

    taken_at: datetime
    #: Seconds the queries took (this process's last uncached collection).
    collect_seconds: float
    models: tuple[ModelUsage, ...]
    windows: tuple[WindowFill, ...]
    denials: tuple[PolicyDenials, ...]
    webhooks: tuple[reads.WebhookQueue, ...]
    outbox: reads.OutboxState
    price_sources: tuple[PriceSourceState, ...]


def take_snapshot(ctx: EngineContext) -> MetricsSnapshot:
    """Read everything ``/metrics`` shows, in one read transaction."""
    started = time.perf_counter()
    now = utcnow()
    ctx.reload()  # policies as every process sees them now
    policies = ctx.policies
    with ctx.db.read() as tx:
        budgets = tx.metrics.budget_names()
        models = tx.metrics.usage_by_model()
        windows = live_windows(tx, policies, budgets, now)
        counts = tx.metrics.denial_counts()
        webhooks = tx.metrics.webhook_queues()
        outbox = tx.metrics.outbox_state()
        sources = tx.metrics.active_price_sources()
    by_id = {p.policy_id: p for p in policies}
    denials = [
        PolicyDenials(budgets[c.budget_id], by_id[c.policy_id].name, c)
        for c in counts
        if c.policy_id in by_id and c.budget_id in budgets
    ]
    return MetricsSnapshot(
        taken_at=now,
        collect_seconds=time.perf_counter() - started,
        models=model_usage(models),
        windows=tuple(windows),
        denials=tuple(denials),
        webhooks=tuple(webhooks),
        outbox=outbox,
        price_sources=tuple(PriceSourceState(*source) for source in sources),
    )


class SnapshotCache:
    """The last snapshot, kept for ``ttl`` seconds of ``clock`` (monotonic)."""

    def __init__(
        self,
        take: Callable[[], MetricsSnapshot],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._take = take
        self.ttl = ttl
        self._clock = clock
        self._snapshot: MetricsSnapshot | None = None
        self._taken = 0.0
        self._lock = threading.Lock()

    def get(self) -> MetricsSnapshot:
        """The cached snapshot while fresh; else a new one (one taker at a time)."""
        snapshot = self._fresh()
        if snapshot is not None:
            return snapshot
        with self._lock:
            snapshot = self._fresh()  # another scrape may have just taken one
            if snapshot is not None:
                return snapshot
            snapshot = self._take()
            self._snapshot, self._taken = snapshot, self._clock()
            return snapshot

    def _fresh(self) -> MetricsSnapshot | None:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._taken < self.ttl:
            return snapshot
        return None
