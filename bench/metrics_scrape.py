"""The cost of one uncached /metrics collection on a seeded database.

Seeds ``--records`` usage records over ``--days`` days (ledger and rollups,
with :mod:`bench.usage_generator`), ``--budgets`` budgets with a daily hard
policy, a monthly USD policy and a per-user monthly policy each (their live
windows created by real usage), a few webhooks; then times
:func:`budget.engine.metrics_snapshot.take_snapshot` (what a scrape costs when
the cache has expired) and the exposition of it, ``--repeat`` times::

    python -m bench.metrics_scrape --url sqlite:////tmp/metrics.db
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from prometheus_client import generate_latest
from sqlalchemy import func, select

import budget
from bench.usage_generator import load
from budget.api.metrics_db import DatabaseCollector
from budget.engine.metrics_snapshot import take_snapshot
from budget.storage.tables_insight import usage_rollups


def seed(svc, url: str, records: int, days: int, budgets: int) -> None:
    load(svc, url, records, days, datetime.now(UTC))
    for i in range(budgets):
        b = svc.create_budget(f"team-{i}")
        svc.add_policy(
            b.budget_id, type="hard_limit", period="daily", token_limit=10**9, project=f"p{i % 20}"
        )
        svc.add_policy(
            b.budget_id, type="warn", period="monthly", cost_limit="1000", component="chat"
        )
        svc.add_policy(b.budget_id, type="warn", period="monthly", token_limit=10**8, each=["user"])
        for u in range(5):
            svc.record_usage(
                provider="openai",
                model="gpt-4o",
                input_tokens=100,
                output_tokens=10,
                project=f"p{i % 20}",
                component="chat",
                user=f"u{u}",
            )
    for i in range(5):
        svc.create_webhook(f"http://127.0.0.1:9/hook{i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--budgets", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seeded", action="store_true", help="the database is seeded already")
    args = parser.parse_args()
    svc = budget.open(args.url, pool_size=2, webhook_allow_private=True)  # loopback targets
    try:
        if not args.seeded:
            seed(svc, args.url, args.records, args.days, args.budgets)
        with svc._ctx.db.read() as conn:
            model_days = (usage_rollups.c.cube == "model") & (usage_rollups.c.span_hours == 24)
            rows = conn.execute(select(func.count()).where(model_days)).scalar()
            every = conn.execute(select(func.count()).select_from(usage_rollups)).scalar()
        snap_ms, text_ms = [], []
        collector = DatabaseCollector(lambda: svc)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            snapshot = take_snapshot(svc._ctx)
            t1 = time.perf_counter()
            generate_latest(collector)  # a cached snapshot: the exposition alone
            snap_ms.append((t1 - t0) * 1000)
            text_ms.append((time.perf_counter() - t1) * 1000)
        print(f"rollup rows: {every} in all, {rows} read (model cube, day grain)")
        print(f"live windows: {len(snapshot.windows)}, models: {len(snapshot.models)}")
        print(
            f"uncached collection: median {statistics.median(snap_ms):.1f} ms, "
            f"max {max(snap_ms):.1f} ms over {args.repeat}"
        )
        print(f"exposition of a cached snapshot: median {statistics.median(text_ms):.1f} ms")
    finally:
        svc.close()


if __name__ == "__main__":
    main()
