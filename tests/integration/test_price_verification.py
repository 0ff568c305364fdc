"""Price corrections and verification against storage, on both backends: the
seeded catalog carries the shipped corrections, a refresh keeps a correction
in force, an override beats it, and change records keep their evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
import test_price_catalog as catalog_tests
from test_price_catalog import BASE, FakeWeb, Service

from budget.ingest import plan as plan_module
from budget.pricing.corrections import parse

# The price service over fixture sources, shared with test_price_catalog.
prices = catalog_tests.prices
web = catalog_tests.web
restore_prices = catalog_tests.restore_prices


def test_the_seeded_catalog_carries_the_shipped_corrections(prices: Service) -> None:
    # https://api-docs.deepseek.com/quick_start/pricing (checked 2026-12-03): from
    # 2025-09-05 16:00 UTC, $0.56 per 1M input tokens (cache miss) and $1.68 per
    # 1M output tokens, the nighttime discount cancelled.
    night = datetime(2025, 9, 10, 20, 0, tzinfo=UTC)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    estimate = prices.estimate_cost(provider="deepseek", model="deepseek-chat", at=night, **usage)
    assert estimate.cost == D("2.24") and estimate.price_source == "correction"
    corrected = [
        p for p in prices.price_history("deepseek", "deepseek-chat") if p.source == "correction"
    ]
    assert [p.verification for p in corrected] == ["corrected", "corrected"]
    assert [p.extra["correction"] for p in corrected] == [
        "deepseek-chat-2025-09-05-night-discount-ended",
        "deepseek-chat-2025-09-29-v3-2-price",
    ]
    prices.update_prices()
    again = prices.estimate_cost(provider="deepseek", model="deepseek-chat", at=night, **usage)
    assert (again.cost, again.price_id) == (estimate.cost, estimate.price_id)


@pytest.fixture
def gpt4o_fix(monkeypatch: pytest.MonkeyPatch):
    """A correction in force now (a made-up value, for the mechanics only)."""
    fixes = parse(
        {
            "corrections": [
                {
                    "id": "fixture-gpt-4o",
                    "provider": "openai",
                    "model": "gpt-4o",
                    "set": {"input": "2.4"},
                    "url": "https://fixtures.test/pricing",
                    "checked": "2026-12-03",
                    "why": "test fixture",
                }
            ]
        }
    )
    monkeypatch.setattr(plan_module, "load_corrections", lambda: fixes)
    return fixes[0]


def test_a_refresh_keeps_a_correction_and_an_override_beats_it(
    prices: Service, gpt4o_fix, pinned_clock
) -> None:
    prices.update_prices()
    corrected = prices.get_price("openai", "gpt-4o")
    assert (corrected.source, corrected.verification) == ("correction", "corrected")
    assert corrected.rates.input.base == D("2.4") and corrected.rates.output.base == D(10)
    assert corrected.extra["field_verification"]["input"] == "corrected"
    assert corrected.extra["field_verification"]["output"] == "verified"
    estimate = prices.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1_000_000)
    assert (estimate.cost, estimate.price_source) == (D("2.4"), "correction")

    pinned_clock.advance(minutes=5)
    report = prices.update_prices()
    assert prices.get_price("openai", "gpt-4o").price_id == corrected.price_id  # not undone
    assert not [c for c in report.changes if c.model == "gpt-4o" and c.action == "changed"]

    override = prices.set_price_override("openai", "gpt-4o", input="1", output="4")
    pinned_clock.advance(minutes=5)
    prices.update_prices()
    assert prices.get_price("openai", "gpt-4o").price_id == override.price_id
    estimate = prices.estimate_cost(provider="openai", model="gpt-4o", input_tokens=1_000_000)
    assert (estimate.cost, estimate.price_source) == (D(1), "manual")


def test_a_change_record_keeps_its_evidence(prices: Service, pinned_clock, web: FakeWeb) -> None:
    prices.update_prices()
    pinned_clock.advance(hours=1)
    web.set_litellm("gpt-4o", input_cost_per_token=2e-06)
    web.bodies[f"{BASE}/models"] = web.bodies[f"{BASE}/models"].replace(
        b'"prompt": "0.0000025"', b'"prompt": "0.000002"'
    )
    web.bodies[f"{BASE}/pricing"] = web.bodies[f"{BASE}/pricing"].replace(
        b"<td>$2.50</td><td>$1.25</td>", b"<td>$2.00</td><td>$1.25</td>"
    )
    # three lineages (litellm, openrouter, the page) now outvote llm-prices and
    # the stored row's own (genai-prices, silent in this run)
    report = prices.update_prices()
    change = next(c for c in report.changes if c.model == "gpt-4o" and c.action == "changed")
    stored = next(
        c for c in prices.get_price_update(report.update_id).changes if c.model == "gpt-4o"
    )
    assert stored.evidence == change.evidence
    evidence = change.evidence["input"]
    assert evidence["status"] == "verified" and evidence["value"] == "2"
    assert set(evidence["lineages"]) == {"litellm", "openrouter", "vendor-page"}
    assert evidence["claims"]["litellm"] == "2" and evidence["claims"]["llm-prices"] == "2.5"
    assert evidence["claims"]["genai-prices"] == "2.5"  # the replaced row, as a witness
    row = prices.get_price("openai", "gpt-4o")
    assert row.extra["field_verification"]["input"] == "verified"


def test_a_single_source_unit_error_is_flagged_and_never_prices_a_call(
    prices: Service, web: FakeWeb
) -> None:
    # A made-up model with per-thousand prices read as per-token: 150 and 600
    # USD per million, under the ceiling but 1000x its gpt-4o-mini family.
    doc = json.loads(web.bodies[f"{BASE}/litellm.json"])
    doc["gpt-4o-mini-unit-error"] = {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1.5e-04,
        "output_cost_per_token": 6e-04,
    }
    web.bodies[f"{BASE}/litellm.json"] = json.dumps(doc).encode()
    report = prices.update_prices()
    (change,) = [c for c in report.changes if c.model == "gpt-4o-mini-unit-error"]
    assert change.action == "conflict" and change.cause.startswith("magnitude: input 150")
    assert "gpt-4o-mini* family" in change.cause
    estimate = prices.estimate_cost(
        provider="openai", model="gpt-4o-mini-unit-error", input_tokens=1000
    )
    assert not estimate.priced
    alerts = [a for a in prices.list_alerts(kind="price_conflict") if "unit-error" in a.message]
    assert len(alerts) == 1 and "model left unpriced" in alerts[0].message


def test_the_price_body_carries_the_verification_of_each_field(prices: Service) -> None:
    from fastapi.testclient import TestClient

    from budget.server.app import create_app

    prices.update_prices()
    with TestClient(create_app(prices), base_url="http://127.0.0.1") as client:
        body = client.get(
            "/api/v1/prices/current", params={"provider": "openai", "model": "gpt-4o"}
        ).json()
    assert (
        body["field_verification"]
        == prices.get_price("openai", "gpt-4o").extra["field_verification"]
    )
    assert body["field_verification"]["input"] == "verified"
