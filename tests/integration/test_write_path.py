"""The fused write path: usage with release, spend(), batches with allocations,
and the rule that a policy change binds every allocation after it commits,
on every process sharing the database."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from test_concurrency import WindowMonitor, hammer_threads, open_service

import budget
from budget.server.app import create_app
from budget.settings import Settings


def team_with(svc, **policy):
    team = svc.create_budget(name="team")
    spec = {"type": "hard_limit", "period": "daily", "token_limit": 10_000, **policy}
    return team, svc.add_policy(team.budget_id, **spec)


def window_of(svc, team, policy):
    (window,) = [w for w in svc.summary(team.budget_id).windows if w.policy_id == policy.policy_id]
    return window


MINI = {"provider": "openai", "model": "gpt-4o-mini"}


def test_usage_with_release_draws_down_and_releases_in_one_step(svc):
    team, policy = team_with(svc)
    alloc = svc.allocate(context_id="c", input_tokens=500, max_output_tokens=500, **MINI)
    assert window_of(svc, team, policy).tokens_reserved == 1000
    record = svc.record_usage(
        allocation_id=alloc.allocation_id,
        input_tokens=500,
        output_tokens=120,
        request_id="r1",
        release=True,
    )
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (620, 0)
    assert window.cost_used == record.cost and window.cost_reserved == 0
    after = svc.get_allocation(alloc.allocation_id)
    assert after.status is budget.AllocationStatus.RELEASED
    assert (after.tokens_used, after.tokens_remaining) == (620, 0)
    assert after.cost_used == record.cost
    kinds = [e.type for e in svc.list_events()]
    assert kinds == ["allocation.created", "usage.recorded", "allocation.released"]
    released = svc.list_events()[-1].data
    assert released["tokens_returned"] == 380 and released["windows"][0]["window"]


def test_usage_with_release_on_a_closed_allocation_only_counts_usage(svc):
    team, policy = team_with(svc)
    alloc = svc.allocate(context_id="c", tokens=1000, **MINI)
    svc.release(alloc.allocation_id)
    svc.record_usage(
        allocation_id=alloc.allocation_id, input_tokens=50, output_tokens=50, release=True
    )
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (100, 0)
    assert svc.get_allocation(alloc.allocation_id).tokens_used == 100
    assert [e.type for e in svc.list_events()].count("allocation.released") == 1


def test_a_repeated_request_id_with_release_counts_once_and_still_releases(svc):
    team, policy = team_with(svc)
    alloc = svc.allocate(context_id="c", tokens=1000, **MINI)
    first = svc.record_usage(
        allocation_id=alloc.allocation_id, input_tokens=10, output_tokens=10, request_id="r"
    )
    again = svc.record_usage(
        allocation_id=alloc.allocation_id,
        input_tokens=10,
        output_tokens=10,
        request_id="r",
        release=True,
    )
    assert again.usage_id == first.usage_id
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (20, 0)
    assert svc.get_allocation(alloc.allocation_id).status is budget.AllocationStatus.RELEASED


def test_release_needs_an_allocation_and_a_boolean(svc):
    with pytest.raises(budget.ValidationError) as missing:
        svc.record_usage(input_tokens=1, release=True, **MINI)
    assert missing.value.field == "release"
    with pytest.raises(budget.ValidationError) as wrong:
        svc.record_usage(allocation_id="alc_x", input_tokens=1, release="yes")
    assert wrong.value.field == "release"


def test_spend_allocates_then_records_and_releases_on_exit(svc):
    team, policy = team_with(svc)
    with svc.spend(context_id="job", input_tokens=800, max_output_tokens=200, **MINI) as call:
        assert window_of(svc, team, policy).tokens_reserved == 1000
        call.record(output_tokens=150, request_id="job-1")
    assert call.usage is not None and call.usage.input_tokens == 800
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (950, 0)
    assert svc.get_allocation(call.allocation_id).status is budget.AllocationStatus.RELEASED


def test_spend_releases_everything_when_the_body_raises(svc):
    team, policy = team_with(svc)
    with pytest.raises(RuntimeError), svc.spend(context_id="job", tokens=1000, **MINI) as call:
        raise RuntimeError("the model call failed")
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (0, 0)
    assert call.usage is None
    assert call.allocation.status is budget.AllocationStatus.RELEASED


def test_spend_records_reported_usage_even_when_the_body_raises_after(svc):
    team, policy = team_with(svc)
    with pytest.raises(KeyError), svc.spend(context_id="job", tokens=1000, **MINI) as call:
        call.record(input_tokens=100, output_tokens=100)
        raise KeyError("parsing the answer failed")
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (200, 0)


def test_spend_refuses_before_the_body_runs(svc):
    team_with(svc, token_limit=100)
    ran = []
    with pytest.raises(budget.BudgetExceeded), svc.spend(context_id="job", tokens=500, **MINI):
        ran.append(1)
    assert ran == []
    assert svc.list_allocations().total == 0


def test_spend_reports_usage_once(svc):
    team_with(svc)
    with svc.spend(context_id="job", tokens=100, **MINI) as call:
        call.record(output_tokens=5)
        with pytest.raises(budget.ValidationError):
            call.record(output_tokens=5)


def test_a_batch_mixes_reports_with_and_without_allocations(svc):
    team, policy = team_with(svc)
    alloc = svc.allocate(context_id="c", tokens=1000, **MINI)
    records = svc.record_usage_batch(
        [
            {"input_tokens": 10, "output_tokens": 5, **MINI},
            {"allocation_id": alloc.allocation_id, "input_tokens": 100, "output_tokens": 50},
            {"input_tokens": 20, "output_tokens": 5, "request_id": "b3", **MINI},
            {
                "allocation_id": alloc.allocation_id,
                "input_tokens": 1,
                "output_tokens": 1,
                "release": True,
            },
        ]
    )
    assert [r.allocation_id for r in records] == [
        None,
        alloc.allocation_id,
        None,
        alloc.allocation_id,
    ]
    window = window_of(svc, team, policy)
    totals = svc.usage_totals()
    assert window.tokens_used == totals["tokens"] == 15 + 150 + 25 + 2
    assert window.cost_used == totals["cost"]
    assert window.tokens_reserved == 0
    assert svc.get_allocation(alloc.allocation_id).tokens_used == 152


def test_a_batch_counts_thresholds_once(svc):
    team, _ = team_with(svc, type="warn", token_limit=100, warning_thresholds=[0.5])
    svc.record_usage_batch([{"input_tokens": 30, **MINI} for _ in range(5)])
    kinds = sorted(a.kind.value for a in svc.list_alerts(budget_id=team.budget_id))
    # 50 %, the default action threshold (95 %) and the limit: each once.
    assert kinds == ["action_threshold", "limit_reached", "threshold_crossed"]


def test_a_policy_added_elsewhere_binds_the_next_allocation_here(db_url):
    """Two services on one database stand for two replicas: the one that
    cached no policies must see a hard limit the other added, at once."""
    here = open_service(db_url)
    there = open_service(db_url)
    try:
        here.allocate(context_id="warm", tokens=10, **MINI)  # caches "no policies"
        team = there.create_budget(name="elsewhere")
        there.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=50)
        with pytest.raises(budget.BudgetExceeded):
            here.allocate(context_id="next", tokens=60, **MINI)
        usage = here.record_usage(input_tokens=40, **MINI)
        assert usage.cost is not None
        (window,) = there.summary(team.budget_id).windows
        assert window.tokens_used == 40  # the record counted on the new policy's window
    finally:
        here.close()
        there.close()


def test_a_price_changed_elsewhere_reaches_estimates_within_a_second(db_url):
    here = open_service(db_url)
    there = open_service(db_url)
    try:
        before = here.estimate_cost(provider="openai", model="gpt-4o", input_tokens=10**6)
        there.set_price_override(
            provider="openai", model="gpt-4o", input=Decimal("7"), output=Decimal("9")
        )
        time.sleep(1.1)
        after = here.estimate_cost(provider="openai", model="gpt-4o", input_tokens=10**6)
        assert before.cost != after.cost == Decimal("7")
        there.set_price_override(
            provider="openai", model="gpt-4o", input=Decimal("8"), output=Decimal("9")
        )
        assert there.estimate_cost(
            provider="openai", model="gpt-4o", input_tokens=10**6
        ).cost == Decimal("8")  # its own change at once
    finally:
        here.close()
        there.close()


def test_fused_cycles_from_threads_hold_the_limit_and_return_every_reservation(db_url):
    svc = open_service(db_url)
    try:
        team, policy = team_with(svc, period="total", token_limit=20_000)

        def work(index: int):
            granted, errors = 0, []
            for cycle in range(12):
                try:
                    alloc = svc.allocate(context_id=f"t{index}", tokens=200, **MINI)
                except budget.BudgetExceeded:
                    continue
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(repr(exc))
                    continue
                granted += 1
                svc.record_usage(
                    allocation_id=alloc.allocation_id,
                    input_tokens=60,
                    output_tokens=40,
                    request_id=f"{index}-{cycle}",
                    release=True,
                )
            return {"granted": [granted], "errors": errors}

        with WindowMonitor(db_url, policy.policy_id) as monitor:
            result, _ = hammer_threads(16, work)
        assert result["errors"] == []
        window = window_of(svc, team, policy)
        totals = svc.usage_totals()
        assert window.tokens_reserved == 0
        assert window.tokens_used == totals["tokens"] == 100 * sum(result["granted"])
        assert monitor.max_tokens <= 20_000 and monitor.errors == []
        assert svc.list_allocations(status="active") == []
    finally:
        svc.close()


def test_post_usage_with_release_over_http(svc):
    team, policy = team_with(svc)
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as http:
        alloc = http.post(
            "/api/v1/allocations", json={"context_id": "c", "tokens": 1000, **MINI}
        ).json()
        answer = http.post(
            "/api/v1/usage",
            json={
                "allocation_id": alloc["allocation_id"],
                "input_tokens": 100,
                "output_tokens": 20,
                "release": True,
            },
        )
        assert answer.status_code == 201
        shown = http.get(f"/api/v1/allocations/{alloc['allocation_id']}").json()
        assert shown["status"] == "released"
        refused = http.post("/api/v1/usage", json={"input_tokens": 1, "release": True, **MINI})
        assert refused.status_code == 422 and "release" in refused.text
    window = window_of(svc, team, policy)
    assert (window.tokens_used, window.tokens_reserved) == (120, 0)


@pytest.mark.postgres
def test_a_reused_connection_the_server_dropped_is_replaced(postgres_url):
    """No ping per checkout: a pooled PostgreSQL connection that the server
    closed fails once, and the write is retried on a fresh connection."""
    from conftest import reset_postgres
    from sqlalchemy import create_engine, text

    reset_postgres(postgres_url)
    db_url = postgres_url
    svc = budget.open(settings=Settings(database_url=db_url, pool_size=2))
    try:
        team_with(svc, token_limit=10**6)
        svc.allocate(context_id="warm", tokens=10, **MINI)
        admin = create_engine(db_url)
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()
        assert svc.allocate(context_id="after", tokens=10, **MINI).tokens_reserved == 10
    finally:
        svc.close()


def test_a_burst_of_calls_loads_the_catalog_once(db_url, monkeypatch):
    """Many threads meeting an empty cache (a start, a price change) wait for
    one load instead of each loading the whole catalog."""
    from budget.engine.context import EngineContext

    svc = open_service(db_url)
    try:
        team_with(svc, token_limit=10**9)
        loads = []
        original = EngineContext._load_catalog

        def counted(self, conn, version):
            loads.append(version)
            time.sleep(0.05)  # a slow load, so the others arrive while it runs
            return original(self, conn, version)

        monkeypatch.setattr(EngineContext, "_load_catalog", counted)
        svc._ctx.invalidate()
        result, _ = hammer_threads(
            8,
            lambda i: {"granted": [svc.allocate(context_id=f"b{i}", tokens=10, **MINI)]},
        )
        assert len(result["granted"]) == 8
        assert len(loads) == 1
    finally:
        svc.close()
