"""Benchmark: reports and forecasts over 1 and 10 million usage records
(``python -m bench.bench_reports [--quick] [--sizes N,N] [--backend B]``).

For each backend (SQLite, PostgreSQL) and size, a fresh database gets that
many usage records over the last 90 days from :mod:`bench.usage_generator`
(ledger by COPY / executemany, rollups in bulk through the write path's cube
derivation), 19 policies over budgets scoped by nothing, provider, project,
tag and user, and their current windows' counters (computed from the
rollups: the generator bypasses the write path). Then each query runs after
a warm-up and is timed, p50 and p99:

* ``month_model_day``: last calendar month, spend by model and day (UTC);
* ``month_model_day_berlin``: the same in Europe/Berlin (hour rollups);
* ``top10_users_month``: last calendar month, the 10 biggest users;
* ``forecast_all``: a forecast for every current window (19).

Up to a million records, ``rebuild_rollups(check_only=True)`` also checks the
bulk-written rollups against the ledger. ``write_path`` measures what the
rollup upsert adds to ``record_usage`` per record (time inside
``apply_usages``, and ``record_usage`` with and without it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/bench_reports.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget
from bench import databases
from bench.usage_generator import LoadReport, load

FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (100_000,)
DAYS = 90
CHECK_UP_TO = 1_000_000
BACKENDS = ("sqlite", "postgresql")


def run(quick: bool, sizes: tuple[int, ...] | None = None, backends=BACKENDS) -> dict[str, Any]:
    """Load, then time the queries on every backend and size; the figures as a dict."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    repeats = 10 if quick else 50
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    with ExitStack() as stack:
        for backend in backends:
            dbs = _databases(stack, backend, skipped)
            if dbs is None:
                continue
            for size in sizes:
                results.append(_one(backend, dbs.fresh(), size, repeats))
            results.append(write_path(backend, dbs.fresh(), 300 if quick else 2000))
    return {
        "benchmark": "reports",
        "mode": "quick" if quick else "full",
        "days": DAYS,
        "repeats": repeats,
        "results": results,
        "skipped": skipped,
    }


def _databases(stack: ExitStack, backend: str, skipped: list[str]):
    if backend == "sqlite":
        return stack.enter_context(databases.sqlite_databases())
    try:
        return stack.enter_context(databases.postgres_databases())
    except databases.PostgresUnavailable as exc:
        skipped.append(f"postgresql: {exc}")
        return None


def _one(backend: str, url: str, size: int, repeats: int) -> dict[str, Any]:
    svc = budget.open(url, price_network=False)
    try:
        end = datetime.now(UTC)
        report = load(svc, url, size, DAYS, end, progress=_progress(backend, size))
        policies = create_policies(svc)
        windows = create_windows(svc, end)
        timings = {name: timed(fn, repeats) for name, fn in queries(svc, end).items()}
        result = {
            "benchmark": "reports",
            "backend": backend,
            "records": size,
            "load": report.to_dict(),
            "policies": policies,
            "window_creation": windows,
            "queries": timings,
            "database_mb": _size_mb(svc, url),
        }
        if size <= CHECK_UP_TO:
            check = svc.rebuild_rollups(check_only=True)
            result["rollup_check"] = {
                "agreed": check.agreed,
                "ledger_records": check.ledger_records,
                "rollup_rows": check.rollup_rows,
                "seconds": round(check.seconds, 1),
            }
        return result
    finally:
        svc.close()


def _progress(backend: str, size: int) -> Callable[[LoadReport], None]:
    def show(report: LoadReport) -> None:
        if report.days % 10 == 0:
            print(f"  {backend} {size:,}: {report.records:,} records loaded", file=sys.stderr)

    return show


def month_range(end: datetime) -> tuple[datetime, datetime]:
    """The last whole calendar month before ``end`` (UTC)."""
    first = date(end.year, end.month, 1)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return (
        datetime(previous.year, previous.month, 1, tzinfo=UTC),
        datetime(first.year, first.month, 1, tzinfo=UTC),
    )


def queries(svc: budget.BudgetService, end: datetime) -> dict[str, Callable[[], Any]]:
    since, until = month_range(end)
    month = {"since": since, "until": until}
    return {
        "month_model_day": lambda: svc.usage_report(**month, group_by=["model"], bucket="day"),
        "month_model_day_berlin": lambda: svc.usage_report(
            **month, group_by=["model"], bucket="day", timezone="Europe/Berlin"
        ),
        "top10_users_month": lambda: svc.usage_report(**month, group_by=["user"], top=10),
        "forecast_all": svc.forecast,
    }


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> dict[str, Any]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(cuts[98], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "n": repeats,
    }


POLICIES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "org",
        [
            {"type": "warn", "period": "hourly", "token_limit": 10**12},
            {"type": "warn", "period": "daily", "cost_limit": "100000"},
            {"type": "soft_limit", "period": "weekly", "token_limit": 10**13},
            {"type": "hard_limit", "period": "monthly", "cost_limit": "1000000"},
        ],
    ),
    *(
        (
            f"provider-{p}",
            [
                {"type": "warn", "period": "daily", "cost_limit": "50000", "provider": p},
                {"type": "warn", "period": "monthly", "cost_limit": "500000", "provider": p},
            ],
        )
        for p in ("openai", "anthropic", "google")
    ),
    *(
        (f"project-{i:02d}", [{"type": "warn", "period": "monthly", "cost_limit": "100000"}])
        for i in range(5)
    ),
    ("prod", [{"type": "warn", "period": "daily", "cost_limit": "50000", "tags": ["prod"]}]),
    *(
        (f"user-{i:03d}", [{"type": "warn", "period": "daily", "cost_limit": "1000"}])
        for i in range(3)
    ),
]


def create_policies(svc: budget.BudgetService) -> int:
    """The benchmark's budgets and policies; how many policies."""
    count = 0
    for name, policies in POLICIES:
        budget_id = svc.create_budget(name).budget_id
        for fields in policies:
            scope = {}
            if name.startswith("project-"):
                scope = {"project": name}
            elif name.startswith("user-"):
                scope = {"user": name}
            svc.add_policy(budget_id, **fields, **scope)
            count += 1
    return count


def create_windows(svc: budget.BudgetService, now: datetime) -> dict[str, Any]:
    """Each policy's current window, made by the engine as a first request would
    (summed from the rollups, docs/limits.md); how long each took, in ms."""
    from budget.domain.periods import calendar_window, load_timezone
    from budget.engine.new_windows import ensure_windows

    ctx = svc._ctx
    took = []
    for policy in svc.list_policies():
        span = calendar_window(policy.period, load_timezone(policy.timezone), now)
        started = time.perf_counter()
        ensure_windows(ctx, [(policy, span)], now)
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return {
        "windows": len(took),
        "p50_ms": round(took[len(took) // 2], 2),
        "max_ms": round(took[-1], 2),
    }


def write_path(backend: str, url: str, records: int) -> dict[str, Any]:
    """What the rollup upsert costs per ``record_usage`` (one policy, one record per call)."""
    from bench.write_cost import measure

    return {"benchmark": "rollup_write_cost", "backend": backend, **measure(url, records)}


def _size_mb(svc: budget.BudgetService, url: str) -> float | None:
    from sqlalchemy import text

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return round(path.stat().st_size / 2**20, 1) if path.exists() else None
    with svc._ctx.db.read() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return round(size / 2**20, 1)


def main(argv: list[str] | None = None) -> int:
    """Print a table of the figures, then their JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_reports", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100,000 records, 10 repeats")
    parser.add_argument("--sizes", help="comma-separated record counts (default 1M,10M)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--json", help="also write the JSON to this file")
    args = parser.parse_args(argv)
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    result = run(args.quick, sizes, backends)
    for item in result["results"]:
        _print(item)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _print(item: dict[str, Any]) -> None:
    if item["benchmark"] == "rollup_write_cost":
        print(
            f"{item['backend']:<10} rollups on the write path: apply_usage p50 "
            f"{item['apply_usage_p50_us']} us; record_usage p50 {item['with_rollups_p50_us']} us "
            f"with, {item['without_rollups_p50_us']} us without"
        )
        return
    load_info = item["load"]
    print(
        f"{item['backend']:<10} {item['records']:>11,} records: loaded in {load_info['load_s']} s "
        f"({load_info['rollup_rows']:,} rollup rows, {item['database_mb']} MB)"
    )
    w = item["window_creation"]
    print(
        f"    creating {w['windows']} windows from the ledger: p50 {w['p50_ms']} ms, "
        f"max {w['max_ms']} ms each"
    )
    for name, t in item["queries"].items():
        print(f"    {name:<24} p50 {t['p50_ms']:>8.2f} ms   p99 {t['p99_ms']:>8.2f} ms")
    if "rollup_check" in item:
        print(f"    rollups agree with the ledger: {item['rollup_check']['agreed']}")


if __name__ == "__main__":
    raise SystemExit(main())
