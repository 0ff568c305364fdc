"""A real `budget serve --workers 2`: every scrape of /metrics, whichever worker
answers it, shows the same database-sourced values (including usage recorded
through the API) and the HTTP metrics of both workers summed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

V1 = "/api/v1"
BUDGET_BIN = Path(sys.executable).parent / "budget"
#: Families whose value depends on the moment or the process that read them.
PER_SCRAPE = {
    "budget_metrics_collect_seconds",
    "budget_metrics_snapshot_timestamp_seconds",
    "budget_outbox_lag_seconds",
    "budget_webhook_delivery_lag_seconds",
    "budget_price_source_age_seconds",
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_workers(db_url, tmp_path) -> Iterator[tuple[str, Path]]:
    """`budget serve --workers 2` with its multiprocess directory in ``tmp_path``
    (holding a stale file of an earlier run, which the server must clear)."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {
        **os.environ,
        "BUDGET_DATABASE_URL": db_url,
        "BUDGET_METRICS_CACHE_SECONDS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    proc = subprocess.Popen(
        [str(BUDGET_BIN), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield base, metrics_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text  # a new connection each time
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def from_database(samples: dict) -> dict:
    return {
        k: v
        for k, v in samples.items()
        if k[0].startswith("budget_")
        and not k[0].startswith(("budget_http_", "budget_allocations_"))
        and k[0] not in PER_SCRAPE
    }


def worker_pids(metrics_dir: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}


def test_two_workers_serve_one_view(two_workers):
    base, metrics_dir = two_workers
    with httpx.Client(base_url=base, timeout=10) as http:
        team = http.post(f"{V1}/budgets", json={"name": "team"}).json()
        http.post(
            f"{V1}/budgets/{team['budget_id']}/policies",
            json={"name": "daily", "type": "hard_limit", "period": "daily", "token_limit": 10_000},
        )
        for i in range(6):
            usage = {"provider": "openai", "model": "gpt-4o", "input_tokens": 100 + i}
            assert http.post(f"{V1}/usage", json={**usage, "output_tokens": 10}).status_code == 201
        http.post(
            f"{V1}/usage",
            json={"provider": "acme", "model": "x-1", "input_tokens": 40, "output_tokens": 4},
        )
        denied = http.post(f"{V1}/allocations", json={"context_id": "c", "tokens": 50_000})
        assert denied.status_code == 429
        totals = http.get(f"{V1}/usage/totals").json()

    # requests on fresh connections until both workers have served some
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(50):
            codes = list(pool.map(lambda _: httpx.get(f"{base}/health").status_code, range(16)))
            assert codes == [200] * 16
            sent += 16
            if len(worker_pids(metrics_dir)) >= 2:
                break
    assert len(worker_pids(metrics_dir)) == 2  # the stale file is gone, two workers wrote

    scrapes = [scrape(base) for _ in range(8)]
    views = [from_database(s) for s in scrapes]
    assert all(view == views[0] for view in views)
    view = views[0]
    gpt = frozenset({"provider": "openai", "model": "gpt-4o"}.items())
    assert view[("budget_usage_records_total", gpt)] == 6
    spend = sum(v for (n, _), v in view.items() if n == "budget_spend_usd_total")
    assert spend == pytest.approx(float(Decimal(totals["cost"])), rel=1e-12)
    tokens = sum(v for (n, _), v in view.items() if n == "budget_tokens_total")
    assert tokens == totals["tokens"]
    unpriced = sum(v for (n, _), v in view.items() if n == "budget_unpriced_records_total")
    assert unpriced == totals["unpriced_records"] == 1
    denials = [v for (n, _), v in view.items() if n == "budget_denials_total"]
    assert denials == [1]
    # the per-process HTTP metrics: both workers' requests, summed in every scrape
    health = frozenset({"method": "GET", "route": "/health", "status": "200"}.items())
    assert {s[("budget_http_request_seconds_count", health)] for s in scrapes} == {sent}
    denied_outcome = frozenset({"outcome": "denied"}.items())
    assert {s[("budget_allocations_total", denied_outcome)] for s in scrapes} == {1}
