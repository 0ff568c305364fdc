"""Service tiers and 1-hour cache writes through the library, REST and the CLI,
on both backends, with the price's source and verification on every figure.

Claude Opus 4.1, USD per million tokens, from Anthropic's public pages, checked
2026-12-03: https://platform.claude.com/docs/en/about-claude/pricing (input $15,
5m cache writes $18.75, 1h cache writes $30, output $75; the shipped catalog
agrees) and https://docs.anthropic.com/en/docs/build-with-claude/batch-processing
(batch input $7.50, batch output $37.50).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import budget
from budget.cli.app import app as cli_app
from budget.errors import ValidationError
from budget.server.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from _serve import serving

V1 = "/api/v1"
D = Decimal
OPUS = {"provider": "anthropic", "model": "claude-opus-4-1"}
BATCH = {"batch": {"input": "7.50", "output": "37.50"}}
# 60,000 5-minute writes x $18.75/M + 40,000 1-hour writes x $30/M = $1.125 + $1.20
WRITES = {"input_tokens": 100_000, "cache_write_tokens": 100_000, "cache_write_1h_tokens": 40_000}
# 10,000 x $7.50/M + 2,000 x $37.50/M = $0.075 + $0.075 (standard: twice that)
CALL = {"input_tokens": 10_000, "output_tokens": 2_000}


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def _cli(db_url, *args):
    result = CliRunner().invoke(
        cli_app, [*args, "--database-url", db_url], env={"BUDGET_URL": None, "COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_library_prices_one_hour_writes_and_says_how_far_to_trust_it(svc) -> None:
    estimate = svc.estimate_cost(**OPUS, **WRITES)
    assert estimate.cost == D("2.325")
    assert estimate.breakdown["cache_write"] == D("2.325")
    assert estimate.breakdown["cache_write_1h"] == D("1.2")
    assert (estimate.price_source, estimate.price_verification) == ("genai-prices", "unverified")
    assert estimate.service_tier == "standard" and estimate.unpriced_reason is None
    record = svc.record_usage(**OPUS, **WRITES)
    assert record.cost == D("2.325") and record.cache_write_1h_tokens == 40_000
    assert record.cost_breakdown["cache_write_1h"] == D("1.2")
    assert record.price_source == "genai-prices" and record.price_verification == "unverified"
    assert svc.get_usage(record.usage_id) == record


def test_library_service_tier_on_estimate_allocate_and_record(svc) -> None:
    missing = svc.estimate_cost(**OPUS, **CALL, service_tier="batch")
    assert missing.priced is False and missing.cost is None
    assert "service_tier='batch'" in missing.unpriced_reason
    svc.set_price_override(**OPUS, input="15", output="75", service_tiers=BATCH)
    batch = svc.estimate_cost(**OPUS, **CALL, service_tier="batch")
    assert batch.cost == D("0.15") and batch.service_tier == "batch"
    assert (batch.price_source, batch.price_verification) == ("manual", "override")
    assert svc.estimate_cost(**OPUS, **CALL).cost == D("0.3")
    held = svc.allocate(
        context_id="job", **OPUS, input_tokens=10_000, max_output_tokens=2_000, service_tier="batch"
    )
    assert held.cost_reserved == D("0.15")
    record = svc.record_usage(allocation_id=held.allocation_id, **CALL, service_tier="batch")
    assert record.service_tier == "batch" and record.cost == D("0.15")
    listed = svc.list_usage(provider="anthropic")
    assert [u.service_tier for u in listed] == ["batch"]
    with pytest.raises(ValidationError, match="service_tier"):
        svc.record_usage(**OPUS, **CALL, service_tier="turbo")


def test_the_usage_recorded_event_carries_the_tier_and_the_hour_writes(svc) -> None:
    svc.set_price_override(**OPUS, input="15", output="75", service_tiers=BATCH)
    svc.record_usage(**OPUS, **WRITES, service_tier="batch")
    [event] = [e for e in svc.list_events() if e.type == "usage.recorded"]
    assert event.data["service_tier"] == "batch"
    assert event.data["cache_write_1h_tokens"] == 40_000


def test_rest_record_estimate_and_show_with_tiers(svc, client) -> None:
    r = client.post(f"{V1}/estimate", json={**OPUS, **WRITES})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cost"] == "2.325" and body["breakdown"]["cache_write_1h"] == "1.2"
    assert body["price_verification"] == "unverified" and body["service_tier"] == "standard"
    r = client.put(f"{V1}/prices/override", json={**OPUS, "input": "15", "service_tiers": BATCH})
    assert r.status_code == 200, r.text
    assert r.json()["service_tiers"] == {"batch": {"input": "7.50", "output": "37.50"}}
    r = client.post(f"{V1}/usage", json={**OPUS, **CALL, "service_tier": "batch"})
    assert r.status_code == 201, r.text
    assert r.json()["service_tier"] == "batch" and r.json()["cost"] == "0.15"
    assert r.json()["price_source"] == "manual"
    r = client.post(f"{V1}/usage/batch", json={"items": [{**OPUS, **WRITES}]})
    assert r.status_code == 201, r.text
    assert r.json()[0]["cache_write_1h_tokens"] == 40_000
    r = client.post(f"{V1}/estimate", json={**OPUS, **CALL, "service_tier": "flex"})
    assert r.json()["priced"] is False and "service_tier='flex'" in r.json()["unpriced_reason"]
    r = client.post(f"{V1}/usage", json={**OPUS, **CALL, "service_tier": "turbo"})
    assert r.status_code == 422
    r = client.get(f"{V1}/usage/export", params={"format": "csv"})
    assert r.status_code == 200 and ",batch,manual,override," in r.text


def test_cli_cost_record_and_prices_show(svc, db_url) -> None:
    out = json.loads(_cli(db_url, "cost", "claude-opus-4-1", "--provider", "anthropic", "--input",
                          "100000", "--cache-write", "100000", "--cache-write-1h", "40000",
                          "--json"))  # fmt: skip
    assert out["cost"] == "2.325" and out["price_source"] == "genai-prices"
    shown = _cli(db_url, "prices", "show", "claude-opus-4-1", "--provider", "anthropic")
    assert "cache write (1 hour)" in shown and "30" in shown and "genai-prices" in shown
    _cli(db_url, "prices", "override", "claude-opus-4-1", "--provider", "anthropic",
         "--input", "15", "--output", "75", "--tier-rate", "batch.input=7.50",
         "--tier-rate", "batch.output=37.50")  # fmt: skip
    record = json.loads(_cli(db_url, "usage", "record", "--provider", "anthropic", "--model",
                             "claude-opus-4-1", "--input", "10000", "--output", "2000",
                             "--service-tier", "batch", "--json"))  # fmt: skip
    assert record["cost"] == "0.15" and record["service_tier"] == "batch"
    whole = json.loads(_cli(db_url, "prices", "show", "claude-opus-4-1", "--json"))
    assert whole["service_tiers"]["batch"] == {"input": "7.50", "output": "37.50"}
    assert whole["verification"] == "override"
    assert "batch" in _cli(db_url, "prices", "show", "claude-opus-4-1", "--provider", "anthropic")


def test_connect_gives_what_open_gives(svc) -> None:
    svc.set_price_override(**OPUS, input="15", output="75", service_tiers=BATCH)
    with serving(svc) as url, budget.connect(url) as remote:
        estimate = remote.estimate_cost(**OPUS, **CALL, service_tier="batch")
        assert estimate == svc.estimate_cost(**OPUS, **CALL, service_tier="batch")
        assert estimate.cost == D("0.15") and estimate.price_verification == "override"
        record = remote.record_usage(**OPUS, **CALL, service_tier="batch", request_id="r1")
        assert record.service_tier == "batch" and record.price_source == "manual"
        assert record == svc.get_usage(record.usage_id)


def test_prices_show_adds_the_models_facts_and_verification_per_field(svc, db_url) -> None:
    whole = json.loads(_cli(db_url, "prices", "show", "gpt-4o", "--provider", "openai", "--json"))
    assert whole["facts"]["context_window"] == whole["context_window"] == 128_000
    assert whole["facts"]["priced_as"] == {"provider": "openai", "model": "gpt-4o"}
    assert whole["field_verification"] == {}  # no refresh has compared sources yet
    shown = _cli(db_url, "prices", "show", "gpt-4o", "--provider", "openai")
    assert "model facts" in shown and "128000" in shown
    svc.set_price_override(provider="acme", model="x-1", input="1", output="2")
    bare = json.loads(_cli(db_url, "prices", "show", "x-1", "--provider", "acme", "--json"))
    assert bare["facts"] is None  # a price needs no facts; none are invented
