"""Insight through its faces on both backends: REST, CLI, and routing against real budgets."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import budget
from budget.cli.app import app as cli_app
from budget.server.app import create_app
from budget.settings import Settings

V1 = "/api/v1"
AT = datetime(2026, 11, 10, 9, tzinfo=UTC)
RANGE = {"since": "2026-11-10T00:00:00Z", "until": "2026-11-11T00:00:00Z"}


def _usage(svc, n=3):
    for i in range(n):
        svc.record_usage(
            provider="openai",
            model="gpt-4o",
            input_tokens=1000,
            output_tokens=100,
            user=f"user-{i % 2}",
            tags=["prod"],
            occurred_at=AT + timedelta(minutes=i),
        )
    svc.record_usage(provider="acme", model="house-1", input_tokens=50, occurred_at=AT)


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def test_rest_report_json_and_csv(svc, client):
    _usage(svc)
    r = client.get(f"{V1}/reports/usage", params={**RANGE, "group_by": ["model"], "bucket": "day"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["records"] == 4 and body["total"]["cost"] == "0.0105"
    assert body["unpriced"] == [
        {"provider": "acme", "model": "house-1", "records": 1, "tokens": 50}
    ]
    assert {row["group"]["model"] for row in body["rows"]} == {"gpt-4o", "house-1"}
    for ask in (
        {"params": {**RANGE, "format": "csv"}},
        {"params": RANGE, "headers": {"Accept": "text/csv"}},
    ):
        r = client.get(f"{V1}/reports/usage", **ask)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 1 and rows[0]["records"] == "4" and rows[0]["unpriced_records"] == "1"


def test_rest_top_forecast_analysis(svc, client):
    _usage(svc)
    r = client.get(f"{V1}/reports/top", params={**RANGE, "by": "user", "n": 1})
    assert r.status_code == 200 and len(r.json()["rows"]) == 1 and r.json()["others"]
    team = svc.create_budget("t")
    svc.add_policy(team.budget_id, type="warn", period="monthly", cost_limit="10")
    r = client.get(f"{V1}/forecast", params={"budget_id": team.budget_id})
    assert r.status_code == 200 and r.json()[0]["period"] == "monthly"
    r = client.get(f"{V1}/analysis", params={**RANGE, "by": "model"})
    assert r.status_code == 200 and {f["kind"] for f in r.json()} <= {"trend", "spike"}


def test_rest_recommendations_and_route(svc, client):
    _usage(svc)
    r = client.get(
        f"{V1}/recommendations",
        params={"model": "gpt-4o", "provider": "openai", "same_provider": True, "limit": 3},
    )
    assert r.status_code == 200, r.text
    recs = r.json()
    assert recs and all(x["provider"] == "openai" for x in recs)
    assert recs[0]["mix"]["basis"] == "model" and recs[0]["mix"]["requests"] == 3
    r = client.post(f"{V1}/route", json={"preferred_model": "gpt-4o", "input_tokens": 100})
    assert r.status_code == 200 and r.json()["decision"] == "preferred"
    r = client.post(f"{V1}/route", json={"preferred_model": "gpt-4o", "colour": "blue"})
    assert r.status_code == 422


def test_rest_errors_and_rebuild_is_for_admins(svc, client):
    r = client.get(f"{V1}/reports/usage", params={**RANGE, "timezone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["field"] == "timezone"
    r = client.get(f"{V1}/recommendations", params={"model": "no-such-model"})
    assert r.status_code == 404
    r = client.post(f"{V1}/rollups/rebuild", json={"check_only": True})
    assert r.status_code == 200 and r.json()["agreed"]
    _, secret = svc.create_api_key("reader", "client")
    r = client.post(f"{V1}/rollups/rebuild", headers={"Authorization": f"Bearer {secret}"}, json={})
    assert r.status_code == 403


def _cli(db_url, *args):
    result = CliRunner().invoke(
        cli_app, [*args, "--database-url", db_url], env={"BUDGET_URL": None, "COLUMNS": "200"}
    )
    return result


def test_cli_report_exports_and_rollups(svc, db_url, tmp_path):
    _usage(svc)
    args = ["--since", "2026-11-10", "--until", "2026-11-11"]
    out = _cli(db_url, "report", "-g", "user", "--bucket", "day", *args)
    assert out.exit_code == 0, out.output
    assert "user-0" in out.output and "unpriced" in out.output
    out = _cli(db_url, "report", "-g", "model", *args, "--csv")
    assert out.exit_code == 0 and out.output.startswith("bucket_start,bucket_end,provider,model")
    out = _cli(db_url, "report", "--json", "-g", "tag", *args)
    assert json.loads(out.output)["total"]["records"] == 4
    target = tmp_path / "report.csv"
    out = _cli(db_url, "report", *args, "--csv", "-o", str(target))
    assert out.exit_code == 0 and target.read_text().count("\n") == 2
    out = _cli(db_url, "rollups", "rebuild", "--check", "--json")
    assert out.exit_code == 0 and json.loads(out.output)["agreed"]


def test_cli_forecast_recommend_route_analyze(svc, db_url):
    _usage(svc)
    team = svc.create_budget("cli")
    svc.add_policy(team.budget_id, type="warn", period="daily", cost_limit="5")
    out = _cli(db_url, "forecast", "--budget", "cli", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)[0]["budget_id"] == team.budget_id
    out = _cli(db_url, "recommend", "gpt-4o", "--provider", "openai", "--same-provider")
    assert out.exit_code == 0 and "openai/" in out.output
    out = _cli(db_url, "route", "gpt-4o", "--input", "100", "--max-output", "50")
    assert out.exit_code == 0 and out.output.startswith("preferred: use openai/gpt-4o")
    out = _cli(db_url, "analyze", "--since", "2026-11-09", "--until", "2026-11-11", "--json")
    assert out.exit_code == 0 and isinstance(json.loads(out.output), list)


def test_routing_at_each_budget_state(svc, db_url, pinned_clock):
    call = {"preferred_model": "gpt-4o", "input_tokens": 2000, "max_output_tokens": 1000}
    assert svc.route_request(**call).decision == "preferred"
    team = svc.create_budget("routing")
    # gpt-4o would cost $0.015 here, over this hard limit on gpt-4o alone.
    svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", cost_limit="0.01", model="gpt-4o"
    )
    cheaper = svc.route_request(**call)
    assert cheaper.decision == "cheaper" and cheaper.provider == "openai"
    assert cheaper.model != "gpt-4o" and cheaper.estimated_cost < Decimal("0.015")
    assert cheaper.recommendation is not None and cheaper.considered[0].outcome == "denied"
    # Now no openai model fits; a free local model is outside this scope.
    svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", cost_limit="0.0001", provider="openai"
    )
    elsewhere = svc.route_request(**call)
    assert elsewhere.decision == "cheaper" and elsewhere.provider != "openai"
    assert "(no openai model does)" in elsewhere.reason
    call["same_provider"] = True
    denied = svc.route_request(**call)
    assert denied.decision == "denied" and denied.retry_at == datetime(2026, 11, 30, tzinfo=UTC)
    assert all(c.outcome == "denied" for c in denied.considered)
    local = budget.open(settings=Settings(database_url=db_url, route_local_model="ollama/llama3.1"))
    try:
        routed = local.route_request(**call)
        assert (routed.decision, routed.provider, routed.model) == ("local", "ollama", "llama3.1")
    finally:
        local.close()


def test_soft_limit_routing_and_the_allocation_suggestion_agree(svc, pinned_clock):
    team = svc.create_budget("soft")
    svc.add_policy(
        team.budget_id, type="soft_limit", period="daily", cost_limit="0.01", model="gpt-4o"
    )
    call = {"input_tokens": 2000, "max_output_tokens": 1000}
    decision = svc.route_request(preferred_model="gpt-4o", provider="openai", **call)
    assert decision.decision == "cheaper"
    allocation = svc.allocate(context_id="s", provider="openai", model="gpt-4o", **call)
    assert allocation.over_soft_limit and allocation.recommended_model
    check = svc.check(provider="openai", model="gpt-4o", **call)
    assert check.recommended_model == allocation.recommended_model
