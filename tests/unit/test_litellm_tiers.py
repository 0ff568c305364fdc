"""Service tiers and 1-hour cache writes from LiteLLM's price file: the
conversion, the shipped catalog's tier rates, and a refresh that keeps them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

from budget.domain.prices import Price, PriceRates, Rate, ServiceTierRates, TierRate
from budget.ingest.collect import Group
from budget.ingest.plan import Context, plan
from budget.ingest.sources.litellm import parse_document, service_tiers
from budget.ingest.verify import Tolerance
from budget.pricing import PriceCatalog, load_default_prices
from budget.pricing.cost import estimate_cost
from budget.pricing.default_catalog import default_catalog_header
from budget.pricing.refresh import SourceRecord, SourceSpec, Stored

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _rates(**kinds: str) -> PriceRates:
    return PriceRates(**{k: Rate(base=D(v)) for k, v in kinds.items()})


def test_batch_flex_and_priority_keys_become_tiers_with_exact_rates() -> None:
    extra = {
        "input_cost_per_token_batches": 1.25e-06,
        "output_cost_per_token_batches": 5e-06,
        "input_cost_per_token_priority": 4.25e-06,
        "output_cost_per_token_priority": 1.7e-05,
        "cache_read_input_token_cost_priority": 2.125e-06,
        "input_cost_per_token_above_272k_tokens_priority": 8.5e-06,
        "input_cost_per_token_flex": 1.25e-06,  # no output rate: not a tier
        "input_cost_per_audio_token_batches": 1e-05,  # not a text kind
    }
    batch, priority = service_tiers(extra)
    assert batch == ServiceTierRates("batch", _rates(input="1.25", output="5"))
    assert priority.tier == "priority"
    assert priority.rates.input == Rate(D("4.25"), (TierRate(272_000, D("8.5")),))
    assert priority.rates.output == Rate(D("17"))
    assert priority.rates.cached_input == Rate(D("2.125"))
    assert priority.rates.cache_write is None


def test_an_embedding_tier_needs_no_output_rate() -> None:
    [batch] = service_tiers(
        {"input_cost_per_token_batches": 5e-08, "output_cost_per_token_batches": 0.0},
        embedding=True,
    )
    assert batch == ServiceTierRates("batch", _rates(input="0.05"))


def test_a_record_carries_tiers_and_the_one_hour_cache_write() -> None:
    body = json.dumps(
        {
            "claude-x": {
                "litellm_provider": "anthropic",
                "mode": "chat",
                "input_cost_per_token": 3e-06,
                "output_cost_per_token": 1.5e-05,
                "cache_creation_input_token_cost": 3.75e-06,
                "cache_creation_input_token_cost_above_1hr": 6e-06,
                "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05,
                "input_cost_per_token_batches": 1.5e-06,
                "output_cost_per_token_batches": 7.5e-06,
                "cache_creation_input_token_cost_batches": 1.875e-06,
            }
        }
    )
    [record] = parse_document(body, "litellm", "v").records
    assert record.rates.cache_write_1h == Rate(D("6"), (TierRate(200_000, D("12")),))
    assert record.service_tiers == (
        ServiceTierRates("batch", _rates(input="1.5", output="7.5", cache_write="1.875")),
    )


def test_shipped_gpt_4o_at_openai_has_a_batch_tier_at_half_price() -> None:
    # OpenAI's Batch API costs 50% of the standard input and output rates:
    # https://openai.com/api/pricing/ and https://platform.openai.com/docs/guides/batch
    # (checked 2026-12-03).
    price = PriceCatalog(load_default_prices()).lookup("openai", "gpt-4o", NOW)
    assert price is not None
    batch = price.rates_at(NOW, "batch")
    assert batch is not None
    assert batch.input.base == price.rates.input.base / 2 == D("1.25")
    assert batch.output.base == price.rates.output.base / 2 == D("5")
    assert price.extra["service_tiers_source"].startswith("litellm ")
    cost = estimate_cost(price, 1_000_000, 1_000_000, NOW, service_tier="batch")
    assert cost.total_usd == D("6.25")
    assert default_catalog_header()["litellm_service_tiers"]["rows"] > 0


def _spec(name: str) -> SourceSpec:
    return SourceSpec(name, "test", name, D("0.8"), 3600)


def test_a_refresh_keeps_the_stored_tiers_and_adds_a_sources_tiers() -> None:
    a = _spec("a")
    tiers = (ServiceTierRates("batch", _rates(input="0.5", output="2")),)
    stored = {
        ("openai", "moved"): Stored(
            Price("openai", "moved", _rates(input="1", output="4"), "a", tiers, price_id=1), 3
        )
    }
    groups = {}
    for model, r in (("moved", _rates(input="0.9", output="4")), ("new", _rates(input="2"))):
        group = Group("openai", model)
        record = SourceRecord("openai", model, model, r, service_tiers=tiers)
        group.claims["a"] = (a, record)
        groups[("openai", model)] = group
    ctx = Context(NOW, Tolerance(D("0.01"), D("0.000001")), {"a": a}, frozenset({"a"}), {"a": "1"})
    result = plan(groups, stored, ctx)
    changed, added = result.inserts
    assert changed.price.rates.input == Rate(D("0.9"))
    assert changed.price.service_tiers == tiers
    assert added.price.model == "new" and added.price.service_tiers == tiers


def test_no_shipped_service_tier_is_flat_where_the_standard_rate_steps_up() -> None:
    # A flat batch rate under a standard rate that steps up above 200k input
    # tokens would bill a long call at the short-call rate: such tiers are left
    # out when the catalog is built (the call is then unpriced, and says why).
    kinds = ("input", "output", "cached_input", "cache_write", "cache_write_1h")
    for price in load_default_prices():
        for tier in price.service_tiers:
            for kind in kinds:
                ours, theirs = getattr(price.rates, kind), getattr(tier.rates, kind)
                if ours is not None and ours.tiers and theirs is not None:
                    assert theirs.tiers, f"{price.provider}/{price.model} {tier.tier} {kind}"
    sonnet = PriceCatalog(load_default_prices()).lookup("anthropic", "claude-sonnet-4-5", NOW)
    assert sonnet is not None and "batch" not in sonnet.tier_names()
