"""Where the price model's new fields come from: genai-prices' conversion,
Anthropic's usage block, and manual overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from genai_prices import types as gp

from budget.domain.prices import Rate, ServiceTierRates
from budget.errors import ValidationError
from budget.ingest.sources.genai_prices import Stats, model_rows
from budget.pricing.conventions import from_anthropic
from budget.pricing.overrides import price_model_override

D = Decimal
CEILING = D("1000")


def _model(*entries: gp.ConditionalPrice) -> gp.ModelInfo:
    return gp.ModelInfo(id="m", match=gp.ClauseEquals(equals="m"), prices=list(entries))


def test_a_time_of_day_entry_applies_only_from_the_row_it_follows() -> None:
    # genai-prices lists a base price, a price from 2026-09-10, then an off-peak
    # span: the span is part of the 2026-09-10 price, not of the months before it.
    model = _model(
        gp.ConditionalPrice(prices=gp.ModelPrice(input_mtok=D("1"), output_mtok=D("2"))),
        gp.ConditionalPrice(
            constraint=gp.StartDateConstraint(start_date=date(2026, 9, 10)),
            prices=gp.ModelPrice(input_mtok=D("0.5"), output_mtok=D("1")),
        ),
        gp.ConditionalPrice(
            constraint=gp.TimeOfDateConstraint(
                start_time=time(16, 30, tzinfo=UTC),
                end_time=time(0, 30, tzinfo=UTC),
            ),
            prices=gp.ModelPrice(input_mtok=D("0.25"), output_mtok=D("0.5")),
        ),
    )
    first, second = model_rows(model, Stats())
    assert first["time_of_day"] == []
    [rule] = second["time_of_day"]
    assert rule.effective_from == datetime(2026, 9, 10, tzinfo=UTC)
    assert (rule.start, rule.end, rule.timezone, rule.days) == (
        time(16, 30),
        time(0, 30),
        "UTC",
        frozenset(),
    )


def test_genai_prices_one_hour_cache_write_is_converted() -> None:
    model = _model(
        gp.ConditionalPrice(
            prices=gp.ModelPrice(
                input_mtok=D("15"),
                output_mtok=D("75"),
                cache_write_mtok=D("18.75"),
                cache_write_1h_mtok=D("30"),
            )
        )
    )
    stats = Stats()
    [row] = model_rows(model, stats)
    assert row["rates"].cache_write == Rate(D("18.75"))
    assert row["rates"].cache_write_1h == Rate(D("30"))
    assert "cache_write_1h_mtok" not in stats.ignored_keys


def test_anthropic_cache_creation_splits_writes_by_duration() -> None:
    usage = from_anthropic(
        100, 50, 10, 300, {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}
    )
    assert usage.input_tokens == 410 and usage.cache_write_tokens == 300
    assert usage.cache_write_1h_tokens == 200
    assert from_anthropic(100, 50, 0, 300).cache_write_1h_tokens == 0


def test_anthropic_one_hour_writes_cannot_exceed_the_writes() -> None:
    with pytest.raises(ValidationError, match="ephemeral_1h_input_tokens"):
        from_anthropic(1, 1, 0, 5, {"ephemeral_1h_input_tokens": 6})


def test_an_override_carries_one_hour_writes_and_service_tiers() -> None:
    rates, tiers = price_model_override(
        {
            "input": "3",
            "output": "15",
            "cache_write": "3.75",
            "cache_write_1h": "6",
            "service_tiers": {"batch": {"input": "1.5", "output": "7.5"}},
        },
        CEILING,
    )
    assert rates.cache_write_1h == Rate(D("6"))
    assert tiers == (
        ServiceTierRates("batch", rates.__class__(input=Rate(D("1.5")), output=Rate(D("7.5")))),
    )


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"input": "3", "cache_write_1h": "1"}, "cache_write_1h"),
        ({"input": "3", "service_tiers": {"turbo": {"input": "1"}}}, "service_tiers"),
        ({"input": "3", "service_tiers": {"standard": {"input": "1"}}}, "service_tiers"),
        ({"input": "3", "service_tiers": {"batch": {"output": "1"}}}, "service_tiers.batch.input"),
        ({"input": "3", "service_tiers": {"flex": {"input": 0.5}}}, "service_tiers.flex.input"),
    ],
)
def test_a_bad_override_names_the_field(given: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        price_model_override(given, CEILING)
    assert caught.value.field == field


def test_a_refresh_keeps_the_one_hour_rate_it_does_not_verify() -> None:
    from budget.domain.prices import PriceRates
    from budget.ingest.merge import merge_rates
    from budget.ingest.verify import Tolerance

    stored = PriceRates(
        input=Rate(D("3")),
        output=Rate(D("15")),
        cache_write=Rate(D("3.75")),
        cache_write_1h=Rate(D("6")),
    )
    agreed = PriceRates(input=Rate(D("2")), output=Rate(D("10")))
    merged = merge_rates(stored, agreed, Tolerance(D("0.01"), D("0.000001")))
    assert merged.input == Rate(D("2")) and merged.cache_write == Rate(D("3.75"))
    assert merged.cache_write_1h == Rate(D("6"))
