"""A real `budget serve` process, on SQLite and on PostgreSQL, driven over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest

V1 = "/api/v1"
BUDGET_BIN = Path(sys.executable).parent / "budget"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db_url, tmp_path):
    """`budget serve` with two workers on the test database; yields its base URL."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {**os.environ, "BUDGET_DATABASE_URL": db_url}
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
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_walkthrough_over_http(server):
    with httpx.Client(base_url=server, timeout=10) as http:
        team = http.post(f"{V1}/budgets", json={"name": "team-alpha"}).json()
        policy = http.post(
            f"{V1}/budgets/{team['budget_id']}/policies",
            json={
                "type": "hard_limit",
                "period": "daily",
                "cost_limit": "0.05",
                "provider": "openai",
            },
        ).json()
        alloc = http.post(
            f"{V1}/allocations",
            json={
                "context_id": "task-1",
                "provider": "openai",
                "model": "gpt-4o",
                "input_tokens": 1000,
                "max_output_tokens": 1000,
            },
        ).json()
        assert alloc["cost_reserved"] == "0.0125"
        usage = http.post(
            f"{V1}/usage",
            json={
                "allocation_id": alloc["allocation_id"],
                "input_tokens": 1000,
                "output_tokens": 500,
                "request_id": "r-1",
            },
        )
        assert usage.status_code == 201 and usage.json()["cost"] == "0.0075"
        http.post(f"{V1}/allocations/{alloc['allocation_id']}/release")
        denied = http.post(
            f"{V1}/allocations",
            json={
                "context_id": "task-2",
                "provider": "openai",
                "model": "gpt-4o",
                "input_tokens": 10_000,
                "max_output_tokens": 10_000,
            },
        )
        assert denied.status_code == 429
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert int(denied.headers["retry-after"]) > 0
        assert denied.json()["policy_id"] == policy["policy_id"]
        assert "budget_allocations_total" in http.get("/metrics").text


def test_two_workers_enforce_one_limit_exactly(server):
    with httpx.Client(base_url=server, timeout=10) as http:
        team = http.post(f"{V1}/budgets", json={"name": "shared"}).json()
        http.post(
            f"{V1}/budgets/{team['budget_id']}/policies",
            json={"type": "hard_limit", "period": "total", "token_limit": 3000},
        )

    def attempt(i: int) -> int:
        with httpx.Client(base_url=server, timeout=30) as http:
            return http.post(
                f"{V1}/allocations", json={"context_id": f"c{i}", "tokens": 100}
            ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(60)))
    assert statuses.count(201) == 30 and statuses.count(429) == 30
    with httpx.Client(base_url=server, timeout=10) as http:
        (window,) = http.get(f"{V1}/budgets/{team['budget_id']}/summary").json()["windows"]
    assert window["tokens_reserved"] == 3000 and window["tokens_remaining"] == 0


SERVE_IN_CODE = """
import sys
from budget.server.run import serve
from budget.settings import Settings

port, url = int(sys.argv[1]), sys.argv[2]
serve("127.0.0.1", port, 2, Settings(database_url=url, allocation_ttl_seconds=4321))
"""


def test_settings_given_in_code_reach_every_worker(db_url, tmp_path):
    """Two workers, settings given as keywords only (nothing in the environment):
    every allocation, whichever worker answers it, lives the TTL given in code."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUDGET_")}
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE_IN_CODE, str(port), db_url],
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
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.2)

            def lifetime(i: int) -> float:
                with httpx.Client(base_url=base, timeout=10) as http:  # a new connection each
                    alloc = http.post(
                        f"{V1}/allocations", json={"context_id": f"ttl-{i}", "tokens": 10}
                    ).json()
                return (
                    datetime.fromisoformat(alloc["expires_at"])
                    - datetime.fromisoformat(alloc["created_at"])
                ).total_seconds()

            with ThreadPoolExecutor(max_workers=8) as pool:
                lifetimes = list(pool.map(lifetime, range(24)))
            assert all(abs(seconds - 4321) < 5 for seconds in lifetimes), lifetimes
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
