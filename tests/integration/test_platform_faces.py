"""Which platform's price a call gets, as every face shows it, on both backends
and the shipped catalog. Rows are compared with each other, not with figures:
the shipped catalog's numbers are its sources' (genai-prices, and LiteLLM for
Vertex AI), checked elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from budget.domain.enums import AlertKind
from budget.server.app import create_app

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def test_azure_is_priced_from_openai_by_its_declared_fallback(svc):
    openai = svc.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1000)
    azure = svc.estimate_cost(provider="azure", model="azure/gpt-4o", input_tokens=1000)
    assert azure.priced and azure.cost == openai.cost and azure.price_id == openai.price_id
    assert (openai.price_rule, azure.price_rule) == ("exact", "fallback")
    assert azure.price_hint.startswith("priced from openai's gpt-4o via azure's declared fallback")


def test_price_history_of_a_fallback_is_the_fallback_platforms(client):
    params = {"provider": "azure", "model": "gpt-4o"}
    history = client.get(f"{V1}/prices/history", params=params)
    assert history.status_code == 200, history.text
    assert {(r["provider"], r["model"]) for r in history.json()} == {("openai", "gpt-4o")}


def test_openrouter_prices_its_own_ids(svc):
    routed = svc.estimate_cost(provider="openrouter", model="openai/gpt-4o", input_tokens=1000)
    assert routed.priced and routed.price_rule == "exact"
    assert routed.price_hint == "priced from openrouter's openai/gpt-4o (its own row)"


def test_vertex_is_priced_apart_from_the_gemini_api(svc):
    shapes = (
        "gemini-2.0-flash",
        "publishers/google/models/gemini-2.0-flash",
        "projects/acme/locations/us-central1/publishers/google/models/gemini-2.0-flash",
        "gemini-2.0-flash@001",
    )
    vertex = [svc.estimate_cost(provider="vertex_ai", model=m, input_tokens=10**6) for m in shapes]
    assert len({(e.price_id, e.cost) for e in vertex}) == 1
    one = vertex[0]
    gemini = svc.estimate_cost(
        provider="gemini", model="models/gemini-2.0-flash", input_tokens=10**6
    )
    assert one.priced and gemini.priced and one.price_id != gemini.price_id
    assert one.price_source == "litellm" and gemini.price_source == "genai-prices"


def test_unpriced_says_what_was_looked_for_on_every_face(svc, client):
    est = svc.estimate_cost(provider="azure", model="gpt-9-unknown", input_tokens=10)
    assert not est.priced and est.price_rule == "none"
    assert est.price_hint == (
        "no price for model 'gpt-9-unknown' at platform 'azure': looked for "
        "azure/gpt-9-unknown; then its declared fallbacks: openai/gpt-9-unknown, "
        "anthropic/gpt-9-unknown, deepseek/gpt-9-unknown, x-ai/gpt-9-unknown, "
        "moonshotai/gpt-9-unknown"
    )
    rest = client.post(
        f"{V1}/estimate", json={"provider": "azure", "model": "gpt-9-unknown", "input_tokens": 10}
    ).json()
    assert rest["priced"] is False and rest["price_hint"] == est.price_hint
    missing = client.get(
        f"{V1}/prices/current", params={"provider": "vertex", "model": "gemini-9-unknown"}
    )
    assert missing.status_code == 404
    assert "looked for vertex_ai/gemini-9-unknown" in missing.json()["detail"]
    assert missing.json()["hint"].endswith(
        "then its declared fallbacks: anthropic/gemini-9-unknown"
    )
    svc.record_usage(
        provider="bedrock",
        model="eu-west-3/anthropic.claude-x",
        input_tokens=10,
        output_tokens=1,
        occurred_at=datetime.now(UTC),
    )
    (alert,) = svc.list_alerts(kind=AlertKind.UNPRICED_MODEL)
    assert "looked for aws/eu-west-3/anthropic.claude-x" in alert.message
    assert alert.details["hint"].endswith("aws declares no fallback platform")
