"""docs/metrics.md lists every family /metrics serves, and the Grafana
dashboard queries only families that exist."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from test_metrics_families import NOW, policy, snapshot

from budget.api.metrics import REGISTRY
from budget.api.metrics_db import DatabaseCollector
from budget.domain.models import WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.metrics_snapshot import PolicyDenials, PriceSourceState
from budget.engine.metrics_usage import model_usage
from budget.engine.metrics_windows import WindowFill
from budget.storage.denial_counts import DenialCount
from budget.storage.metrics_reads import ModelTotals, OutboxState, WebhookQueue

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\bbudget_[a-z_]+")


class _Service:
    def __init__(self, snap) -> None:
        self.snap = snap

    def metrics_snapshot(self):
        return self.snap


def full_snapshot():
    """A snapshot with something in every part, so every family has samples."""
    span = WindowSpan("2026-12-01", NOW.replace(hour=0), NOW.replace(hour=0) + timedelta(days=1))
    limits = dict(token_limit=10, cost_limit_nanos=10**9, request_limit=5)
    return snapshot(
        models=model_usage(
            [
                ModelTotals("openai", "gpt-4o", True, False, 1, 10, 5, 1, 1, 1, 10),
                ModelTotals("openai", "gpt-4o", True, True, -1, -10, -5, 0, 0, 0, -10),
            ]
        ),
        windows=(WindowFill("team", policy(**limits), span, WindowCounters(1, 1, 1, 1, 1), 3),),
        denials=(PolicyDenials("team", "daily", DenialCount("bud_1", "pol_1", "usd", 2, NOW)),),
        webhooks=(WebhookQueue("whk_1", True, 1, 1, NOW),),
        outbox=OutboxState(5, 1, 2, NOW),
        price_sources=(PriceSourceState("genai-prices", "ok", NOW, NOW),),
    )


def served_families() -> set[str]:
    names = {f.name for f in DatabaseCollector(lambda: _Service(full_snapshot())).collect()}
    names |= {f.name for f in REGISTRY.collect()}
    return names


def test_docs_list_every_family_and_nothing_else() -> None:
    documented = set(NAME.findall((DOCS / "metrics.md").read_text()))
    served = served_families()
    # counters are named without _total inside prometheus_client; docs name the samples
    as_sampled = {f"{n}_total" if f"{n}_total" in documented else n for n in served}
    assert as_sampled <= documented
    assert documented - as_sampled <= {"budget_http_request_seconds_bucket"}


def test_the_dashboard_queries_existing_families() -> None:
    board = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    served = served_families()
    for expr in exprs:
        for name in NAME.findall(expr):
            family = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert family in served, (name, expr)
    titles = " ".join(p["title"].lower() for p in board["panels"])
    for topic in ("spend", "tokens", "utilization", "unpriced", "denials", "lag", "price source"):
        assert topic in titles
