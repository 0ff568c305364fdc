"""Request limits (rpm and the like): counted atomically like every hard limit."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import _workers  # noqa: E402
from test_concurrency import run_processes  # noqa: E402

MINI = {"provider": "openai", "model": "gpt-4o-mini"}


def test_a_minute_request_limit_counts_allocations_and_bare_usage(svc, pinned_clock):
    pinned_clock.set(datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC))
    team = svc.create_budget(name="team")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="minute", request_limit=3)
    held = svc.allocate(context_id="a", tokens=10, **MINI)
    svc.record_usage(
        allocation_id=held.allocation_id, output_tokens=5, release=True
    )  # same request
    svc.record_usage(**MINI, input_tokens=10)  # a request of its own
    svc.allocate(context_id="b", tokens=10)
    with pytest.raises(budget.BudgetExceeded) as denied:
        svc.allocate(context_id="c", tokens=10)
    assert denied.value.limit_kind == "requests" and denied.value.limit == 3
    assert denied.value.policy_id == policy.policy_id
    assert denied.value.resets_at == datetime(2026, 11, 29, 12, 1, tzinfo=UTC)
    assert 0 < denied.value.retry_after_seconds <= 60
    assert "requests limit 3" in str(denied.value)
    assert not svc.check(context_id="c", tokens=10).allowed
    (window,) = svc.summary(team.budget_id).windows
    assert (window.requests_used, window.request_limit) == (3, 3)
    pinned_clock.advance(minutes=1)
    assert svc.allocate(context_id="d", tokens=10).status.value == "active"


def test_a_new_minute_window_counts_the_records_already_in_it(svc, pinned_clock):
    pinned_clock.set(datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC))
    team = svc.create_budget(name="team")
    for _ in range(2):
        svc.record_usage(**MINI, input_tokens=1)
    svc.add_policy(team.budget_id, type="hard_limit", period="minute", request_limit=3)
    svc.allocate(context_id="a", tokens=1)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="b", tokens=1)


def test_request_limits_over_rest_and_the_cli(svc, db_url, pinned_clock):
    team = svc.create_budget(name="team")  # the clock is pinned: no minute ends mid-test
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        made = client.post(
            f"/api/v1/budgets/{team.budget_id}/policies",
            json={"type": "hard_limit", "period": "minute", "request_limit": 1},
        )
        assert made.status_code == 201 and made.json()["request_limit"] == 1
        assert (
            client.post("/api/v1/allocations", json={"context_id": "a", "tokens": 1}).status_code
            == 201
        )
        refused = client.post("/api/v1/allocations", json={"context_id": "b", "tokens": 1})
        assert refused.status_code == 429
        assert refused.json()["limit_kind"] == "requests" and "Retry-After" in refused.headers
    from typer.testing import CliRunner

    from budget.cli.app import app

    run = CliRunner().invoke(
        app,
        ["policies", "add", "team", "--type", "warn", "--period", "hourly", "--request-limit",
         "500", "--json", "--database-url", db_url],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert '"request_limit": 500' in run.stdout


@pytest.mark.slow
def test_processes_grant_exactly_the_request_limit_of_a_minute(db_url):
    """16 threads x 4 processes against 100 requests a minute: exactly 100."""
    now = datetime.now(UTC)
    if now.second > 35:  # run inside one minute window, not across two
        time.sleep(61 - now.second)
    svc = budget.open(db_url)
    try:
        team = svc.create_budget(name="rpm")
        svc.add_policy(team.budget_id, type="hard_limit", period="minute", request_limit=100)
    finally:
        svc.close()
    started = datetime.now(UTC)
    results = run_processes(_workers.allocate_worker, 4, db_url, 16, 3, {"tokens": 1})
    finished = datetime.now(UTC)
    granted = [g for r in results for g in r["granted"]]
    denied = sum(r["denied"] for r in results)
    assert len(granted) + denied == 4 * 16 * 3
    if started.replace(second=0, microsecond=0) == finished.replace(second=0, microsecond=0):
        assert len(granted) == len(set(granted)) == 100
    else:  # the run crossed a minute boundary: each window holds at most 100
        assert 100 <= len(granted) <= 200
    assert sum(1 for r in results if r["granted"]) >= 2
    assert finished - started < timedelta(minutes=2)
