"""The catalog shipped in the package: loads, prices the usual models, round-trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from importlib.resources import files
from itertools import pairwise

import pytest

from budget.domain.prices import Price, PriceRates, Rate, TierRate, TimeOfDayRates, TokenUsage
from budget.pricing import PriceCatalog, compute_cost, load_default_prices
from budget.pricing.default_catalog import default_catalog_header, default_catalog_version
from budget.pricing.serialize import (
    price_from_dict,
    price_to_dict,
    rates_from_dict,
    rates_to_dict,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def prices() -> list[Price]:
    return load_default_prices()


@pytest.fixture(scope="module")
def catalog(prices: list[Price]) -> PriceCatalog:
    return PriceCatalog(prices)


def test_the_shipped_file_loads(prices: list[Price], catalog: PriceCatalog) -> None:
    assert len(prices) > 500
    assert len(catalog) == len(prices)
    for provider in ("openai", "anthropic", "google", "mistral", "deepseek", "ollama", "local"):
        assert provider in catalog.providers()
    assert not any(p.startswith("huggingface_") for p in catalog.providers())
    assert {"openrouter", "vertex_ai", "aws", "azure"} <= set(catalog.providers())
    assert {p.source for p in prices} == {"genai-prices", "litellm", "budget-builtin"}
    assert {p.provider for p in prices if p.source == "litellm"} == {"vertex_ai"}
    assert load_default_prices() is not load_default_prices()  # callers get their own list


def test_version_and_header() -> None:
    header = default_catalog_header()
    assert header["source"] == "genai-prices"
    assert default_catalog_version() == f"{header['source_version']}+{header['generated_at']}"
    assert datetime.fromisoformat(header["generated_at"]).tzinfo is not None
    assert "prices" not in header


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4o-2024-08-06"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("anthropic", "claude-opus-4-1"),
        ("google", "gemini-2.5-pro"),
        ("gemini", "gemini-2.5-flash"),
        ("mistral", "mistral-large-latest"),
        ("mistral", "mistral-small-latest"),
        ("deepseek", "deepseek-chat"),
    ],
)
def test_popular_models_have_plausible_prices(
    catalog: PriceCatalog, provider: str, model: str
) -> None:
    price = catalog.lookup(provider, model, NOW)
    assert price is not None, f"{provider}/{model} is not priced"
    assert price.rates.input is not None and price.rates.output is not None
    input_rate, output_rate = price.rates.input.base, price.rates.output.base
    assert Decimal("0.01") <= input_rate <= Decimal(100)  # USD per million tokens
    assert Decimal("0.01") <= output_rate <= Decimal(200)
    assert output_rate >= input_rate
    cost = compute_cost(price, TokenUsage(input_tokens=1_000, output_tokens=1_000), NOW)
    assert 0 < cost.total_nanos < 1_000_000_000  # a small call costs under a dollar


def test_known_rates(catalog: PriceCatalog) -> None:
    gpt4o = catalog.lookup("openai", "gpt-4o", NOW)
    assert gpt4o is not None
    assert (gpt4o.rates.input.base, gpt4o.rates.output.base) == (Decimal("2.5"), Decimal(10))  # type: ignore[union-attr]
    gemini = catalog.lookup("google", "gemini-2.5-pro", NOW)
    assert gemini is not None and gemini.rates.input.tiers  # type: ignore[union-attr]  # 200k cliff


def test_deepseek_has_time_of_day_rates(catalog: PriceCatalog) -> None:
    price = catalog.lookup("deepseek", "deepseek-chat", NOW)
    assert price is not None and price.time_of_day
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    night = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert (
        compute_cost(price, usage, NOW).total_nanos != compute_cost(price, usage, night).total_nanos
    )


@pytest.mark.parametrize(("provider", "model"), [("ollama", "llama3"), ("local", "my-finetune")])
def test_local_models_cost_zero(catalog: PriceCatalog, provider: str, model: str) -> None:
    price = catalog.lookup(provider, model, NOW)
    assert price is not None and price.source == "budget-builtin"
    usage = TokenUsage(input_tokens=50_000, output_tokens=10_000)
    assert compute_cost(price, usage, NOW).total_nanos == 0


def test_every_shipped_price_round_trips_exactly(prices: list[Price]) -> None:
    for price in prices:
        assert price_from_dict(price_to_dict(price)) == price
        assert price_from_dict(price_to_dict(price, compact=True)) == price
        assert json.loads(json.dumps(price_to_dict(price))) == price_to_dict(price)


def test_the_file_is_what_serialize_writes() -> None:
    text = files("budget.pricing").joinpath("data/default_prices.json").read_text("utf-8")
    records = json.loads(text)["prices"]
    for record in records:
        assert price_to_dict(price_from_dict(record), compact=True) == record


def test_history_rows_do_not_overlap(prices: list[Price]) -> None:
    rows: dict[tuple[str, str], list[Price]] = {}
    for price in prices:
        rows.setdefault((price.provider, price.model), []).append(price)
    for key, history in rows.items():
        for before, after in pairwise(history):
            assert before.effective_to == after.effective_from, key


# --- serialize, on a hand-made price using every field ---------------------


def test_serialize_round_trips_every_field() -> None:
    rates = PriceRates(
        input=Rate(Decimal("3.00"), (TierRate(200_000, Decimal("6")),)),
        output=Rate(Decimal("15")),
        cached_input=Rate(Decimal("0.30")),
        cache_write=Rate(Decimal("3.75")),
        reasoning=Rate(Decimal("20")),
        per_request=Decimal("0.005"),
    )
    night = TimeOfDayRates(time(16, 30), time(0, 30), PriceRates(input=Rate(Decimal("1"))))
    price = Price(
        provider="anthropic",
        model="claude-x",
        rates=rates,
        source="manual",
        time_of_day=(night,),
        effective_from=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        effective_to=datetime(2026, 6, 1, tzinfo=UTC),
        match=({"or": [{"equals": "claude-x"}, {"regex": "^claude-x-\\d+$"}]},),
        context_window=200_000,
        source_version="v1",
        verification="verified",
        is_override=True,
        price_id=42,
        name="Claude X",
        extra={"note": "test"},
    )
    data = price_to_dict(price)
    assert data["rates"]["input"] == {"base": "3.00", "tiers": [[200000, "6"]]}
    assert data["rates"]["time_of_day"][0]["start"] == "16:30:00"
    assert data["effective_from"] == "2026-01-01T00:00:00+01:00"
    assert price_from_dict(json.loads(json.dumps(data))) == price
    assert rates_from_dict(rates_to_dict(rates, (night,))) == (rates, (night,), ())
    assert "time_of_day" not in rates_to_dict(rates)


def test_serialize_refuses_floats_and_reads_naive_datetimes_as_utc() -> None:
    base = {"provider": "p", "model": "m", "source": "s", "rates": {"input": 0.1}}
    with pytest.raises(ValueError, match="not floats"):
        price_from_dict(base)
    naive = price_from_dict({**base, "rates": {"input": "1"}, "effective_from": "2026-01-01T00:00"})
    assert naive.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="missing field"):
        price_from_dict({"provider": "p"})
