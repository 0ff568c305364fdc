"""Limits that bind: check agrees with allocate, on both backends, library and REST."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app

V1 = "/api/v1"
UNPRICED = {"context_id": "c", "provider": "acme", "model": "mystery-1", "tokens": 100}


def test_check_and_allocate_agree_on_an_unpriced_model_under_a_hard_usd_limit(svc):
    team = svc.create_budget(name="team")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", cost_limit="1")
    with pytest.raises(budget.PriceUnknown) as checked:
        svc.check(**UNPRICED)
    with pytest.raises(budget.PriceUnknown) as allocated:
        svc.allocate(**UNPRICED)
    assert checked.value.message == allocated.value.message
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        answers = [client.post(f"{V1}/{path}", json=UNPRICED) for path in ("check", "allocations")]
    assert [a.status_code for a in answers] == [422, 422]
    assert (
        answers[0].json()["type"] == answers[1].json()["type"] == "urn:budget:problem:price-unknown"
    )
    assert answers[0].json()["detail"] == answers[1].json()["detail"]


def test_a_denial_under_a_critical_headroom_says_which_limit_applied_and_why(svc):
    team = svc.create_budget(name="team")
    svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", token_limit=100, critical_headroom="0.2"
    )
    with pytest.raises(budget.BudgetExceeded) as denied:
        svc.allocate(context_id="c", tokens=90)
    (denial,) = denied.value.denials
    assert denial.limit == 80 and denial.policy_limit == 100
    assert "limit 80 (of 100: critical_headroom 0.2 is kept for critical requests)" in str(
        denied.value
    )
    assert svc.allocate(context_id="c", tokens=90, priority="critical").tokens_reserved == 90
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        body = client.post(f"{V1}/allocations", json={"context_id": "c", "tokens": 5}).json()
    assert body["policy_limit"] == "100" and body["critical_headroom"] == "0.2"
    assert body["limit"] == "80"


def test_summaries_mark_policies_that_do_not_apply_now(svc, pinned_clock):
    from datetime import timedelta

    team = svc.create_budget(name="team")
    now = pinned_clock.now
    base = {"type": "warn", "period": "daily", "token_limit": 10}
    svc.add_policy(team.budget_id, name="live", **base)
    svc.add_policy(team.budget_id, name="off", enabled=False, **base)
    svc.add_policy(team.budget_id, name="later", starts_at=now + timedelta(days=3), **base)
    svc.add_policy(team.budget_id, name="over", ends_at=now - timedelta(hours=1), **base)
    states = {w.policy_name: w.state for w in svc.summary(team.budget_id).windows}
    assert states == {"live": "active", "off": "disabled", "later": "not_started", "over": "ended"}
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        body = client.get(f"{V1}/budgets/{team.budget_id}/summary").json()
    assert {w["policy_name"]: w["state"] for w in body["windows"]} == states


def test_a_usd_window_shows_the_usage_it_could_not_price(svc):
    team = svc.create_budget(name="team")
    svc.add_policy(team.budget_id, type="soft_limit", period="daily", cost_limit="5")
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**6)
    svc.record_usage(provider="openai", model="gpt-4o-mini", input_tokens=1000)
    svc.record_usage(provider="acme", model="mystery-1", input_tokens=300, output_tokens=20)
    svc.record_usage(provider="acme", model="mystery-1", input_tokens=100)
    usd, tokens = svc.summary(team.budget_id).windows
    assert (usd.unpriced_records, usd.unpriced_tokens) == (2, 420)
    assert usd.tokens_used == 1420 and usd.cost_used == Decimal("0.00015")
    assert tokens.unpriced_records is None  # no USD limit: nothing it hides
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        body = client.get(f"{V1}/budgets/{team.budget_id}/summary").json()
    assert body["windows"][0]["unpriced_records"] == 2
    assert body["windows"][0]["unpriced_tokens"] == 420


def test_window_history_answers_how_close_we_came(svc, db_url, pinned_clock):
    from datetime import timedelta

    from typer.testing import CliRunner

    from budget.cli.app import app

    team = svc.create_budget(name="team")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=1000)
    for used in (900, 250, 600):
        svc.record_usage(provider="openai", model="gpt-4o-mini", input_tokens=used)
        pinned_clock.advance(days=1)
    history = svc.window_history(policy.policy_id, last=2)
    assert [w.tokens_used for w in history] == [600, 250]  # newest first, two asked for
    assert [str(w.peak_fill) for w in history] == ["0.6", "0.25"]
    assert history[0].ends_at - history[0].starts_at == timedelta(days=1)
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        body = client.get(f"{V1}/policies/{policy.policy_id}/history?last=5").json()
    assert [w["tokens_used"] for w in body] == [600, 250, 900]
    assert body[2]["peak_fill"] == "0.9" and body[2]["superseded_at"] is None
    run = CliRunner().invoke(
        app, ["policies", "history", policy.policy_id, "--database-url", db_url]
    )
    assert run.exit_code == 0, run.output
    assert "90%" in run.stdout and "25%" in run.stdout
