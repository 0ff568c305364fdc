"""Benchmark: a full offline price refresh (``python -m bench.bench_prices [--quick]``).

Each repetition opens a fresh, seeded SQLite database with the network off, so
only the offline sources run (genai-prices and the LiteLLM file inside the
installed litellm wheel), and times:

* the first refresh: fetch, verify and write (it adds every model the catalog
  did not know, marks the verified ones, raises the conflict alerts);
* a second refresh right after: the same work with nothing to write.

It reports the median times and how many models came out verified,
unverified and in conflict. ``run(quick)`` returns the figures as a dict for
``bench/run.py``; run alone, the module prints them and their JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/bench_prices.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget
from budget.engine import catalog_admin
from budget.pricing.refresh_report import UpdateReport

FULL_REPEATS = 3
QUICK_REPEATS = 1


def run(quick: bool) -> dict[str, Any]:
    """Time full offline refreshes; the counts come from the last repetition."""
    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    firsts: list[float] = []
    seconds: list[float] = []
    report: UpdateReport | None = None
    with tempfile.TemporaryDirectory(prefix="budget-bench-prices-") as tmp:
        for index in range(repeats):
            service = budget.open(
                f"sqlite:///{Path(tmp) / f'prices-{index}.db'}", price_network=False
            )
            try:
                first, report = _timed(service)
                second, _ = _timed(service)
            finally:
                service.close()
            firsts.append(first)
            seconds.append(second)
    assert report is not None
    return _result(report, firsts, seconds, quick)


def _timed(service: budget.BudgetService) -> tuple[float, UpdateReport]:
    started = time.perf_counter()
    report = catalog_admin.update_prices(service._ctx)
    return time.perf_counter() - started, report


def _result(
    report: UpdateReport, firsts: list[float], seconds: list[float], quick: bool
) -> dict[str, Any]:
    return {
        "benchmark": "price_refresh_offline",
        "backend": "sqlite",
        "mode": "quick" if quick else "full",
        "repeats": len(firsts),
        "first_refresh_s": round(statistics.median(firsts), 3),
        "second_refresh_s": round(statistics.median(seconds), 3),
        "models": report.verified + report.unverified + report.conflicts,
        "verified": report.verified,
        "unverified": report.unverified,
        "conflicts": report.conflicts,
        "added": report.added,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "status": report.status,
        "sources": {
            s.source: {
                "status": s.status,
                "version": s.version,
                "records": s.records,
                "skipped": s.skipped,
                "fetch_ms": s.duration_ms,
                "error": s.error,
            }
            for s in report.sources
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures, then their JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_prices", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="one repetition instead of three")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(
        f"offline price refresh ({result['mode']}, {result['repeats']}x, sqlite): "
        f"first {result['first_refresh_s']:.3f}s, second {result['second_refresh_s']:.3f}s"
    )
    print(
        f"models {result['models']}: verified {result['verified']}, "
        f"unverified {result['unverified']}, conflicts {result['conflicts']} "
        f"(added {result['added']}, changed {result['changed']}, unchanged {result['unchanged']})"
    )
    for name, source in result["sources"].items():
        print(
            f"  {name}: {source['status']} {source['version']}, {source['records']} records, "
            f"{source['skipped']} skipped, fetched in {source['fetch_ms']} ms"
            + (f", error: {source['error']}" if source["error"] else "")
        )
    print(json.dumps(result, indent=2))
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
