"""Model facts and the advice that uses them, on both backends: REST, CLI, route, analyze."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from budget.cli.app import app as cli_app
from budget.server.app import create_app

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def test_rest_model_facts(svc, client, pinned_clock):
    r = client.get(f"{V1}/models/facts", params={"provider": "openai", "model": "gpt-4o"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["mode"], body["context_window"], body["max_output_tokens"]) == (
        "chat",
        128_000,
        16_384,
    )
    assert body["lifecycle"] in {"current", "deprecated"} and not body["fine_tuned"]
    assert body["sources"]["max_output_tokens"] == "litellm"
    # a dated id the catalog prices under gpt-4o's match rules
    r = client.get(
        f"{V1}/models/facts", params={"provider": "openai", "model": "gpt-4o-2024-08-06"}
    )
    assert r.status_code == 200 and r.json()["context_window"] == 128_000
    tuned = client.get(
        f"{V1}/models/facts", params={"provider": "openai", "model": "ft:gpt-4o-mini:acme::x1"}
    )
    assert tuned.status_code == 200 and tuned.json()["fine_tuned"] is True
    r = client.get(f"{V1}/models/facts", params={"provider": "acme", "model": "mystery"})
    assert r.status_code == 404
    r = client.get(f"{V1}/recommendations", params={"model": "gpt-4o", "include": "everything"})
    assert r.status_code == 422


def test_rest_recommendations_are_current_chat_models(svc, client, pinned_clock):
    r = client.get(f"{V1}/recommendations", params={"model": "gpt-4o", "limit": 50})
    assert r.status_code == 200, r.text
    recs = r.json()
    assert recs
    for rec in recs:
        facts = svc.model_facts(rec["provider"], rec["model"])
        assert facts["lifecycle"] == "current" and facts["mode"] == "chat", rec["model"]
        assert not facts["base"] and not facts["fine_tuned"]


def test_cli_prices_facts(svc, db_url):
    run = CliRunner().invoke(
        cli_app,
        ["prices", "facts", "gpt-4o", "--provider", "openai", "--json", "--database-url", db_url],
        env={"BUDGET_URL": None, "COLUMNS": "200"},
    )
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["max_output_tokens"] == 16_384


def test_a_5m_token_request_is_not_routed_to_a_128k_model(svc, pinned_clock):
    decision = svc.route_request(
        preferred_model="gpt-4o", input_tokens=5_000_000, max_output_tokens=10_000
    )
    assert decision.decision != "preferred"
    assert "cannot hold 5,000,000 input + 10,000 output tokens" in decision.reason
    if decision.allowed:
        assert svc.model_facts(decision.provider, decision.model)["context_window"] >= 5_010_000


def test_a_request_over_the_window_goes_to_a_model_that_holds_it(svc, pinned_clock):
    decision = svc.route_request(
        preferred_model="gpt-4o", input_tokens=200_000, max_output_tokens=4_000
    )
    assert decision.decision == "larger_context" and decision.provider == "openai"
    facts = svc.model_facts(decision.provider, decision.model)
    assert facts["lifecycle"] == "current" and facts["context_window"] >= 204_000


def test_analyze_does_not_count_days_before_the_first_usage(svc):
    start = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for day in range(10):
        svc.record_usage(
            provider="openai",
            model="gpt-4o",
            input_tokens=1000,
            output_tokens=100,
            occurred_at=start + timedelta(days=day),
        )
    for day in range(5, 10):  # gpt-4o-mini is first used on the 15th, then daily alike
        svc.record_usage(
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1000,
            output_tokens=100,
            occurred_at=start + timedelta(days=day),
        )
    findings = svc.analyze_usage(since="2026-11-10", until="2026-11-20", by="model")
    trends = {f.group: f for f in findings if f.kind == "trend"}
    mini = trends["gpt-4o-mini"]
    assert mini.direction == "flat", mini.summary  # not "rising" from five days of zeros
    assert mini.numbers["buckets"] == 5
    assert mini.numbers["series_start"] == datetime(2026, 11, 15, tzinfo=UTC)
    assert trends["gpt-4o"].numbers["buckets"] == 10
    assert not [f for f in findings if f.kind == "spike" and f.group == "gpt-4o-mini"]
