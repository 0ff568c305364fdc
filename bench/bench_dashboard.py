"""Benchmark: the dashboard's overview over a large ledger
(``python -m bench.bench_dashboard [--sizes N,N] [--backend B] [--repeats N]``).

For each backend and size, a fresh database gets that many usage records over
the last 90 days (:mod:`bench.usage_generator`, ledger and rollups) and the
report benchmark's 19 policies with their current windows. Then ``GET /`` (the
overview: six usage reports and the open-alert count, rendered) is timed
in-process through the ASGI app, after a warm-up, as server time without a
network; the budgets page (a summary and a forecast per budget) is timed too.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/bench_dashboard.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

import budget
from bench.bench_reports import DAYS, _databases, create_policies, create_windows, timed
from bench.usage_generator import load
from budget.server.app import create_app

PAGES = {"overview": "/", "budgets": "/budgets"}


def measure(backend: str, url: str, size: int, repeats: int) -> dict[str, Any]:
    """Load ``size`` records into ``url``; the pages' timings (ms)."""
    svc = budget.open(url, price_network=False)
    try:
        end = datetime.now(UTC)
        report = load(svc, url, size, DAYS, end)
        create_policies(svc)
        create_windows(svc, end)
        with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:

            def get(path: str) -> None:
                answer = client.get(path)
                assert answer.status_code == 200, answer.text[:500]

            pages = {name: timed(lambda p=path: get(p), repeats) for name, path in PAGES.items()}
        return {
            "benchmark": "dashboard",
            "backend": backend,
            "records": size,
            "load_seconds": round(report.ledger_seconds + report.rollup_seconds, 1),
            "pages": pages,
        }
    finally:
        svc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated record counts")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", help="also write the JSON to this file")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results, skipped = [], []
    with ExitStack() as stack:
        for backend in backends:
            dbs = _databases(stack, backend, skipped)
            if dbs is None:
                continue
            for size in (int(s) for s in args.sizes.split(",")):
                result = measure(backend, dbs.fresh(), size, args.repeats)
                results.append(result)
                for name, t in result["pages"].items():
                    print(
                        f"{backend:10} {size:>10,} {name:9} p50 {t['p50_ms']:8.2f} ms"
                        f"  p99 {t['p99_ms']:8.2f} ms"
                    )
    out = {"benchmark": "dashboard", "results": results, "skipped": skipped}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
