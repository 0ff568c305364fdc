"""compute_cost: each token kind billed once, at its rate, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.domain.prices import (
    Price,
    PriceRates,
    Rate,
    TierRate,
    TimeOfDayRates,
    TokenUsage,
)
from budget.errors import ValidationError
from budget.pricing import compute_cost
from budget.pricing.cost import MissingRate, estimate_cost

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
D = Decimal


def rate(value: str, *tiers: tuple[int, str]) -> Rate:
    return Rate(D(value), tuple(TierRate(start, D(r)) for start, r in tiers))


def make_price(**rates: object) -> Price:
    time_of_day = rates.pop("time_of_day", ())
    return Price(
        provider="test",
        model="m",
        rates=PriceRates(**rates),  # type: ignore[arg-type]
        source="test",
        time_of_day=time_of_day,  # type: ignore[arg-type]
    )


FULL = make_price(
    input=rate("2"),
    output=rate("10"),
    cached_input=rate("0.5"),
    cache_write=rate("2.5"),
    reasoning=rate("20"),
)


def test_plain_input_and_output() -> None:
    cost = compute_cost(FULL, TokenUsage(input_tokens=1_000, output_tokens=500), AT)
    assert cost.input_nanos == 2_000_000  # 1000 x $2/M = $0.002
    assert cost.output_nanos == 5_000_000
    assert cost.total_nanos == 7_000_000
    assert cost.total_usd == D("0.007")


def test_each_input_kind_is_billed_once() -> None:
    usage = TokenUsage(input_tokens=10_000, cached_input_tokens=6_000, cache_write_tokens=1_000)
    cost = compute_cost(FULL, usage, AT)
    assert cost.input_nanos == 3_000 * 2_000  # only the 3000 uncached tokens
    assert cost.cached_input_nanos == 6_000 * 500
    assert cost.cache_write_nanos == 1_000 * 2_500
    assert cost.total_nanos == 6_000_000 + 3_000_000 + 2_500_000


def test_reasoning_tokens_are_part_of_output_and_billed_once() -> None:
    usage = TokenUsage(input_tokens=0, output_tokens=1_000, reasoning_tokens=400)
    cost = compute_cost(FULL, usage, AT)
    assert cost.reasoning_nanos == 400 * 20_000
    assert cost.output_nanos == 600 * 10_000
    assert cost.total_nanos == 8_000_000 + 6_000_000


def test_without_a_reasoning_rate_all_output_is_output() -> None:
    price = make_price(input=rate("1"), output=rate("4"))
    cost = compute_cost(price, TokenUsage(output_tokens=1_000, reasoning_tokens=900), AT)
    assert cost.output_nanos == 4_000_000
    assert cost.reasoning_nanos == 0


def test_cache_kinds_fall_back_to_the_input_rate() -> None:
    price = make_price(input=rate("3"), output=rate("15"))
    usage = TokenUsage(input_tokens=1_000, cached_input_tokens=300, cache_write_tokens=200)
    cost = compute_cost(price, usage, AT)
    assert (cost.input_nanos, cost.cached_input_nanos, cost.cache_write_nanos) == (
        1_500_000,
        900_000,
        600_000,
    )
    assert cost.total_nanos == 1_000 * 3_000  # same as no caching at all


def test_tier_cliff_applies_to_all_tokens_above_200k_input() -> None:
    price = make_price(
        input=rate("3", (200_000, "6")),
        output=rate("15", (200_000, "22.5")),
        cached_input=rate("0.3", (200_000, "0.6")),
    )
    at_limit = compute_cost(price, TokenUsage(input_tokens=200_000, output_tokens=1_000), AT)
    assert at_limit.input_nanos == 600_000_000
    assert at_limit.output_nanos == 15_000_000
    above = compute_cost(
        price,
        TokenUsage(input_tokens=200_001, output_tokens=1_000, cached_input_tokens=100_000),
        AT,
    )
    assert above.input_nanos == 100_001 * 6_000
    assert above.cached_input_nanos == 100_000 * 600
    assert above.output_nanos == 22_500_000  # output tier chosen by input size


def test_time_of_day_variant_replaces_the_rates_in_utc() -> None:
    peak = TimeOfDayRates(
        time(0, 30), time(16, 30), PriceRates(input=rate("0.27"), output=rate("1.1"))
    )
    price = make_price(input=rate("0.135"), output=rate("0.55"), time_of_day=(peak,))
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert compute_cost(price, usage, AT).total_nanos == 1_370_000_000
    night = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert compute_cost(price, usage, night).total_nanos == 685_000_000
    # 21:00 in UTC+9 is 12:00 UTC: peak, though the local clock says night.
    tokyo = datetime(2026, 11, 29, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    assert compute_cost(price, usage, tokyo).total_nanos == 1_370_000_000


def test_per_request_fee_is_charged_once() -> None:
    price = make_price(input=rate("1"), output=rate("1"), per_request=D("0.005"))
    cost = compute_cost(price, TokenUsage(input_tokens=1_000, output_tokens=1_000), AT)
    assert cost.request_nanos == 5_000_000
    assert cost.total_nanos == 2_000_000 + 5_000_000
    assert compute_cost(price, TokenUsage(), AT).total_nanos == 5_000_000


def test_each_part_is_rounded_once_to_whole_nanos() -> None:
    price = make_price(input=rate("0.0015"), output=rate("0.0025"))
    cost = compute_cost(price, TokenUsage(input_tokens=1, output_tokens=3), AT)
    # 1 x 0.0015 / 1e6 USD = 1.5 nano -> 2 (half-even); 3 x 0.0025 = 7.5 nano -> 8
    assert (cost.input_nanos, cost.output_nanos) == (2, 8)
    assert cost.total_nanos == 10


def test_exact_decimal_arithmetic_beyond_28_digits() -> None:
    # 15 digits of tokens x 16 digits of rate: more than Decimal's default precision.
    price = make_price(input=rate("0.1234567891234567"), output=rate("1"))
    tokens = 10**15 - 1
    cost = compute_cost(price, TokenUsage(input_tokens=tokens), AT)
    exact = Fraction(tokens) * Fraction("0.1234567891234567") / 10**6 * 10**9
    assert cost.input_nanos == round(exact)  # Fraction rounds half-even, like money.usd_to_nanos


def test_rounding_sees_the_exact_value_not_a_28_digit_one() -> None:
    # 2.5000...0001 nano (31 digits) rounds up; cut to 28 digits it would be 2.5 -> 2.
    price = make_price(input=rate("0.002500000000000000000000000000001"), output=rate("0"))
    assert compute_cost(price, TokenUsage(input_tokens=1), AT).input_nanos == 3


def test_total_equals_sum_of_parts_and_as_usd() -> None:
    usage = TokenUsage(
        input_tokens=9_999,
        output_tokens=777,
        cached_input_tokens=123,
        cache_write_tokens=45,
        reasoning_tokens=67,
    )
    cost = compute_cost(FULL, usage, AT)
    parts = [
        cost.input_nanos,
        cost.cached_input_nanos,
        cost.cache_write_nanos,
        cost.output_nanos,
        cost.reasoning_nanos,
        cost.request_nanos,
    ]
    assert cost.total_nanos == sum(parts)
    usd = cost.as_usd()
    assert usd["total"] == sum(v for k, v in usd.items() if k != "total")


def test_missing_rate_only_matters_when_tokens_of_that_kind_exist() -> None:
    embeddings = make_price(input=rate("0.02"))
    assert compute_cost(embeddings, TokenUsage(input_tokens=1_000), AT).total_nanos == 20_000
    with pytest.raises(MissingRate) as err:
        compute_cost(embeddings, TokenUsage(input_tokens=1, output_tokens=1), AT)
    assert isinstance(err.value, ValueError)
    assert "output" in str(err.value)


def test_cache_without_any_input_rate_is_unpriced() -> None:
    output_only = make_price(output=rate("1"))
    with pytest.raises(ValueError, match="cached input"):
        compute_cost(output_only, TokenUsage(input_tokens=5, cached_input_tokens=5), AT)
    with pytest.raises(ValueError):
        compute_cost(make_price(), TokenUsage(input_tokens=1), AT)
    assert compute_cost(make_price(), TokenUsage(), AT).total_nanos == 0


def test_reasoning_rate_without_output_rate_needs_all_output_to_be_reasoning() -> None:
    price = make_price(input=rate("1"), reasoning=rate("5"))
    cost = compute_cost(price, TokenUsage(output_tokens=10, reasoning_tokens=10), AT)
    assert cost.reasoning_nanos == 50_000
    with pytest.raises(MissingRate):
        compute_cost(price, TokenUsage(output_tokens=11, reasoning_tokens=10), AT)


@pytest.mark.parametrize(
    ("usage", "field"),
    [
        (
            TokenUsage(input_tokens=10, cached_input_tokens=8, cache_write_tokens=3),
            "cached_input_tokens",
        ),
        (TokenUsage(output_tokens=1, reasoning_tokens=2), "reasoning_tokens"),
        (TokenUsage(input_tokens=-1), "input_tokens"),
    ],
)
def test_inconsistent_usage_is_refused_with_the_field(usage: TokenUsage, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        compute_cost(FULL, usage, AT)
    assert err.value.field == field


def test_estimate_cost_is_plain_input_and_output() -> None:
    assert estimate_cost(FULL, 1_000, 500, AT) == compute_cost(
        FULL, TokenUsage(input_tokens=1_000, output_tokens=500), AT
    )


# --- properties -------------------------------------------------------------

rates_st = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def tiered_rate(draw: st.DrawFn) -> Rate:
    base = draw(rates_st)
    bump = draw(st.one_of(st.none(), rates_st))  # tiers never cheaper than the base
    tiers = () if bump is None else (TierRate(200_000, base + bump),)
    return Rate(base, tiers)


@st.composite
def prices(draw: st.DrawFn) -> Price:
    optional = st.one_of(st.none(), tiered_rate())
    per_request = draw(st.one_of(st.none(), rates_st))
    return make_price(
        input=draw(tiered_rate()),
        output=draw(tiered_rate()),
        cached_input=draw(optional),
        cache_write=draw(optional),
        reasoning=draw(optional),
        per_request=per_request,
    )


@st.composite
def kinds(draw: st.DrawFn) -> dict[str, int]:
    return {k: draw(counts) for k in ("uncached", "cached", "written", "plain_out", "reasoning")}


def usage_of(k: dict[str, int]) -> TokenUsage:
    return TokenUsage(
        input_tokens=k["uncached"] + k["cached"] + k["written"],
        output_tokens=k["plain_out"] + k["reasoning"],
        cached_input_tokens=k["cached"],
        cache_write_tokens=k["written"],
        reasoning_tokens=k["reasoning"],
    )


@settings(max_examples=300, deadline=None)
@given(price=prices(), k=kinds())
def test_property_total_is_sum_of_parts(price: Price, k: dict[str, int]) -> None:
    cost = compute_cost(price, usage_of(k), AT)
    assert cost.total_nanos == (
        cost.input_nanos
        + cost.cached_input_nanos
        + cost.cache_write_nanos
        + cost.output_nanos
        + cost.reasoning_nanos
        + cost.request_nanos
    )
    assert all(v >= 0 for v in cost.as_usd().values())


@settings(max_examples=300, deadline=None)
@given(
    price=prices(),
    k=kinds(),
    kind=st.sampled_from(["uncached", "cached", "written", "plain_out", "reasoning"]),
    more=st.integers(min_value=1, max_value=500_000),
)
def test_property_cost_is_monotone_in_each_token_count(
    price: Price, k: dict[str, int], kind: str, more: int
) -> None:
    before = compute_cost(price, usage_of(k), AT).total_nanos
    after = compute_cost(price, usage_of({**k, kind: k[kind] + more}), AT).total_nanos
    assert after >= before
