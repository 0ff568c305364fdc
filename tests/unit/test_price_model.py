"""The price model's constructs, costed exactly: 1-hour cache writes, service
tiers, time-of-day rules with weekdays, a timezone and their own dates, and
per-request fees through all of them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from budget.domain.prices import (
    Price,
    PriceRates,
    Rate,
    ServiceTierRates,
    TimeOfDayRates,
    TokenUsage,
)
from budget.errors import ValidationError
from budget.pricing import compute_cost
from budget.pricing.cost import MissingRate, MissingServiceTier
from budget.pricing.serialize import price_from_dict, price_to_dict, time_of_day_from_dict

D = Decimal
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

# Claude Opus 4.1, USD per million tokens, from Anthropic's public pages, checked
# 2026-12-03: https://platform.claude.com/docs/en/about-claude/pricing (base input
# $15, 5m cache writes $18.75, 1h cache writes $30, cache hits $1.50, output $75)
# and https://docs.anthropic.com/en/docs/build-with-claude/batch-processing
# (batch input $7.50, batch output $37.50).
OPUS_41 = Price(
    provider="anthropic",
    model="claude-opus-4-1",
    source="test",
    rates=PriceRates(
        input=Rate(D("15")),
        output=Rate(D("75")),
        cached_input=Rate(D("1.50")),
        cache_write=Rate(D("18.75")),
        cache_write_1h=Rate(D("30")),
    ),
    service_tiers=(
        ServiceTierRates("batch", PriceRates(input=Rate(D("7.50")), output=Rate(D("37.50")))),
    ),
)


def rates(input_: str, output: str, **more: object) -> PriceRates:
    return PriceRates(input=Rate(D(input_)), output=Rate(D(output)), **more)  # type: ignore[arg-type]


# --- 1-hour cache writes -----------------------------------------------------------


def test_one_hour_writes_at_their_own_rate_and_the_rest_at_five_minutes() -> None:
    usage = TokenUsage(
        input_tokens=100_000, cache_write_tokens=100_000, cache_write_1h_tokens=40_000
    )
    cost = compute_cost(OPUS_41, usage, AT)
    # 60,000 x $18.75/M = $1.125; 40,000 x $30/M = $1.20 (2x input, not 1.25x)
    assert cost.cache_write_1h_nanos == 1_200_000_000
    assert cost.cache_write_nanos == 1_125_000_000 + 1_200_000_000
    assert cost.input_nanos == 0
    assert cost.total_nanos == 2_325_000_000
    assert cost.as_usd()["cache_write_1h"] == D("1.2")


def test_five_minute_writes_only_cost_what_they_did() -> None:
    usage = TokenUsage(input_tokens=1_000, cache_write_tokens=1_000)
    cost = compute_cost(OPUS_41, usage, AT)
    assert cost.cache_write_nanos == 18_750_000 and cost.cache_write_1h_nanos == 0


def test_one_hour_writes_without_a_one_hour_rate_are_unpriced_not_billed_at_five_minutes() -> None:
    price = Price("p", "m", rates("3", "15", cache_write=Rate(D("3.75"))), source="test")
    usage = TokenUsage(input_tokens=10, cache_write_tokens=10, cache_write_1h_tokens=1)
    with pytest.raises(MissingRate, match="1-hour cache write"):
        compute_cost(price, usage, AT)


def test_one_hour_writes_without_any_write_rate_are_billed_as_input() -> None:
    price = Price("p", "m", rates("2", "8"), source="test")
    usage = TokenUsage(input_tokens=1_000, cache_write_tokens=500, cache_write_1h_tokens=200)
    cost = compute_cost(price, usage, AT)
    assert cost.cache_write_nanos == 1_000_000  # 500 x $2/M
    assert cost.cache_write_1h_nanos == 400_000
    assert cost.input_nanos == 1_000_000


def test_one_hour_writes_are_part_of_the_cache_writes() -> None:
    usage = TokenUsage(input_tokens=10, cache_write_tokens=2, cache_write_1h_tokens=3)
    with pytest.raises(ValidationError, match="cache_write_1h_tokens"):
        compute_cost(OPUS_41, usage, AT)


# --- service tiers -------------------------------------------------------------------


def test_batch_tier_uses_its_own_rates() -> None:
    usage = TokenUsage(input_tokens=10_000, output_tokens=2_000)
    standard = compute_cost(OPUS_41, usage, AT)
    batch = compute_cost(OPUS_41, usage, AT, "batch")
    assert standard.total_nanos == 150_000_000 + 150_000_000  # $0.15 + $0.15
    assert batch.input_nanos == 75_000_000 and batch.output_nanos == 75_000_000
    assert batch.total_nanos * 2 == standard.total_nanos


def test_a_tier_the_price_lacks_is_unpriced_and_says_which() -> None:
    with pytest.raises(MissingServiceTier, match=r"service_tier='priority'.*standard, batch"):
        compute_cost(OPUS_41, TokenUsage(input_tokens=1), AT, "priority")


def test_time_of_day_rules_belong_to_the_standard_tier() -> None:
    night = TimeOfDayRates(time(0), time(23, 59), rates("1", "1"))
    price = Price(
        "p",
        "m",
        rates("4", "8"),
        source="test",
        time_of_day=(night,),
        service_tiers=(ServiceTierRates("flex", rates("2", "4")),),
    )
    usage = TokenUsage(input_tokens=1_000_000)
    assert compute_cost(price, usage, AT).total_nanos == 1_000_000_000
    assert compute_cost(price, usage, AT, "flex").total_nanos == 2_000_000_000


# --- time-of-day rules ---------------------------------------------------------------

WEEKDAY_PEAK = TimeOfDayRates(
    start=time(9),
    end=time(17),
    rates=rates("6", "30"),
    days=frozenset(range(5)),
    timezone="America/Los_Angeles",
)
PEAK_PRICE = Price("p", "m", rates("3", "15"), source="test", time_of_day=(WEEKDAY_PEAK,))
ONE_M = TokenUsage(input_tokens=1_000_000)


@pytest.mark.parametrize(
    ("at", "nanos"),
    [
        # Monday 2026-07-06 16:30 UTC = 09:30 PDT: peak
        (datetime(2026, 7, 6, 16, 30, tzinfo=UTC), 6_000_000_000),
        # Monday 2026-01-05 16:30 UTC = 08:30 PST: not yet (the offset follows the zone's DST)
        (datetime(2026, 1, 5, 16, 30, tzinfo=UTC), 3_000_000_000),
        # Saturday 2026-07-11 18:00 UTC = 11:00 PDT: weekend, not peak
        (datetime(2026, 7, 11, 18, 0, tzinfo=UTC), 3_000_000_000),
        # Friday 2026-07-10 23:59 UTC = 16:59 PDT: still peak; 00:00 UTC Saturday = 17:00: not
        (datetime(2026, 7, 10, 23, 59, tzinfo=UTC), 6_000_000_000),
        (datetime(2026, 7, 11, 0, 0, tzinfo=UTC), 3_000_000_000),
        # Tuesday 03:00 UTC = Monday 20:00 PDT: after hours
        (datetime(2026, 7, 7, 3, 0, tzinfo=UTC), 3_000_000_000),
    ],
)
def test_weekday_peak_in_a_local_timezone(at: datetime, nanos: int) -> None:
    assert compute_cost(PEAK_PRICE, ONE_M, at).total_nanos == nanos


def test_a_span_past_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = TimeOfDayRates(time(22), time(6), rates("1", "1"), days=frozenset({4}))
    price = Price("p", "m", rates("3", "15"), source="test", time_of_day=(friday_night,))
    saturday_3am = datetime(2026, 7, 11, 3, 0, tzinfo=UTC)
    sunday_3am = datetime(2026, 7, 12, 3, 0, tzinfo=UTC)
    friday_23 = datetime(2026, 7, 10, 23, 0, tzinfo=UTC)
    assert compute_cost(price, ONE_M, saturday_3am).total_nanos == 1_000_000_000
    assert compute_cost(price, ONE_M, friday_23).total_nanos == 1_000_000_000
    assert compute_cost(price, ONE_M, sunday_3am).total_nanos == 3_000_000_000


def test_a_rule_does_not_apply_before_its_effective_date() -> None:
    since = datetime(2026, 9, 10, tzinfo=UTC)
    until = datetime(2026, 10, 1, tzinfo=UTC)
    off_peak = TimeOfDayRates(
        time(16, 30), time(0, 30), rates("0.5", "1"), effective_from=since, effective_to=until
    )
    price = Price("p", "m", rates("1", "2"), source="test", time_of_day=(off_peak,))
    evening = time(18)
    before = datetime.combine(date(2026, 9, 9), evening, tzinfo=UTC)
    during = datetime.combine(date(2026, 9, 10), evening, tzinfo=UTC)
    after = datetime.combine(date(2026, 10, 1), evening, tzinfo=UTC)
    assert compute_cost(price, ONE_M, before).total_nanos == 1_000_000_000
    assert compute_cost(price, ONE_M, during).total_nanos == 500_000_000
    assert compute_cost(price, ONE_M, after).total_nanos == 1_000_000_000


# --- per-request fees ----------------------------------------------------------------


def test_per_request_fee_in_every_set_of_rates() -> None:
    fee = rates("1", "2", per_request=D("0.005"))
    tier_fee = rates("0.5", "1", per_request=D("0.0025"))
    rule = TimeOfDayRates(time(0), time(12), rates("1", "2", per_request=D("0.01")))
    price = Price(
        "p",
        "m",
        fee,
        source="test",
        time_of_day=(rule,),
        service_tiers=(ServiceTierRates("batch", tier_fee),),
    )
    usage = TokenUsage(input_tokens=1)
    assert compute_cost(price, usage, AT).request_nanos == 5_000_000  # 12:00: outside the rule
    assert compute_cost(price, usage, AT.replace(hour=6)).request_nanos == 10_000_000
    assert compute_cost(price, usage, AT, "batch").request_nanos == 2_500_000
    assert price_from_dict(json.loads(json.dumps(price_to_dict(price)))) == price


# --- serialization -------------------------------------------------------------------


def test_every_new_field_round_trips() -> None:
    price = Price(
        "p",
        "m",
        rates("3", "15", cache_write=Rate(D("3.75")), cache_write_1h=Rate(D("6"))),
        source="test",
        time_of_day=(
            TimeOfDayRates(
                time(9),
                time(17),
                rates("6", "30"),
                days=frozenset({0, 4}),
                timezone="Europe/Paris",
                effective_from=datetime(2026, 1, 1, tzinfo=UTC),
                effective_to=datetime(2027, 1, 1, tzinfo=UTC),
            ),
        ),
        service_tiers=(ServiceTierRates("priority", rates("5.4", "27")),),
    )
    data = json.loads(json.dumps(price_to_dict(price)))
    rule = data["rates"]["time_of_day"][0]
    assert rule["days"] == ["mon", "fri"] and rule["timezone"] == "Europe/Paris"
    assert data["rates"]["cache_write_1h"] == "6"
    assert data["rates"]["service_tiers"] == {"priority": {"input": "5.4", "output": "27"}}
    assert price_from_dict(data) == price


def test_a_rule_stored_before_days_and_timezones_reads_as_every_day_utc() -> None:
    rule = time_of_day_from_dict(
        {"start": "16:30:00", "end": "00:30:00", "rates": {"input": "0.135"}}
    )
    assert rule.days == frozenset() and rule.timezone == "UTC"
    assert rule.effective_from is None and rule.effective_to is None
    assert rule.covers(datetime(2026, 7, 11, 17, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "not an IANA timezone"),
        ({"days": ["funday"]}, "not a day of the week"),
    ],
)
def test_a_bad_rule_is_refused(rule: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        time_of_day_from_dict({"start": "09:00", "end": "17:00", "rates": {}, **rule})


def test_an_unknown_service_tier_is_refused() -> None:
    data = price_to_dict(OPUS_41)
    data["rates"]["service_tiers"] = {"turbo": {"input": "1"}}
    with pytest.raises(ValueError, match="not a service tier"):
        price_from_dict(data)
