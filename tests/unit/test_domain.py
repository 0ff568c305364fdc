"""Validation, defaults, scope matching and limits: the domain without I/O."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from budget.domain import validation as v
from budget.domain.defaults import default_allocation_tokens
from budget.domain.enums import Period, PolicyType, Tier
from budget.domain.models import Policy, RequestAttributes, ScopeFilter
from budget.domain.money import nanos_to_usd, parse_usd, usd_to_nanos
from budget.errors import BudgetExceeded, Denial, ValidationError, shown

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, "10", True, None])
def test_token_counts_must_be_whole_and_non_negative(value):
    with pytest.raises(ValidationError) as info:
        v.tokens("input_tokens", value, required=True)
    assert info.value.field == "input_tokens"
    assert shown(value) in str(info.value)


@pytest.mark.parametrize("value", [0, -0.1, 1.01, "x", True])
def test_thresholds_are_in_zero_to_one(value):
    with pytest.raises(ValidationError) as info:
        v.fraction("warning_thresholds", value)
    assert info.value.field == "warning_thresholds"


def test_thresholds_accept_floats_strings_and_decimals():
    assert v.fractions("t", [0.8, "0.5", Decimal("1")]) == (
        Decimal("0.5"),
        Decimal("0.8"),
        Decimal("1"),
    )


def test_money_refuses_float_and_keeps_nanos_exact():
    with pytest.raises(ValidationError):
        parse_usd("cost_limit", 0.1)
    assert usd_to_nanos(Decimal("0.000000001")) == 1
    assert nanos_to_usd(usd_to_nanos(Decimal("123.456789012"))) == Decimal("123.456789012")
    with pytest.raises(ValidationError):
        parse_usd("cost_limit", "0.0000000001")


def test_priority_names_and_range():
    assert v.priority("priority", "critical") == 10
    with pytest.raises(ValidationError):
        v.priority("priority", 11)


@pytest.mark.parametrize(
    ("task", "priority", "size"),
    [
        (None, 1, 1_000),
        ("default", 5, 2_000),
        ("chat", 8, 8_000),
        ("coding", 10, 32_000),
        ("analysis", 5, 8_000),
        ("embedding", 1, 10_000),
        ("unknown-kind", 10, 8_000),
        ("chat", 7, 4_000),
    ],
)
def test_default_allocation_sizes(task, priority, size):
    assert default_allocation_tokens(task, priority) == size


def test_empty_scope_matches_everything_and_tags_are_a_subset():
    request = RequestAttributes(provider="openai", model="gpt-4o", tags=frozenset({"a", "b"}))
    assert ScopeFilter().matches(request)
    assert ScopeFilter(provider="openai", tags=frozenset({"a"})).matches(request)
    assert not ScopeFilter(provider="anthropic").matches(request)
    assert not ScopeFilter(tags=frozenset({"c"})).matches(request)


def policy(**overrides) -> Policy:
    fields = dict(
        policy_id="pol_1",
        budget_id="bud_1",
        name="p",
        type=PolicyType.HARD_LIMIT,
        period=Period.DAILY,
        timezone="UTC",
        scope=ScopeFilter(),
        token_limit=1000,
        cost_limit_nanos=None,
        warning_thresholds=(),
        action_threshold=None,
        critical_headroom=Decimal(0),
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=NOW,
        updated_at=NOW,
    )
    fields.update(overrides)
    return Policy(**fields)


def test_critical_headroom_keeps_a_share_for_critical_requests():
    p = policy(critical_headroom=Decimal("0.2"), cost_limit_nanos=10_000)
    assert p.effective_limits(critical=False) == (800, 8_000)
    assert p.effective_limits(critical=True) == (1000, 10_000)


def test_policy_dates_and_enabled_flag():
    assert not policy(enabled=False).in_force(NOW)
    assert not policy(starts_at=datetime(2027, 1, 1, tzinfo=UTC)).in_force(NOW)
    assert not policy(ends_at=NOW).in_force(NOW)
    assert policy(scope=ScopeFilter(tier=Tier.LOCAL_MIDWEIGHT)).applies_to(
        RequestAttributes(tier=Tier.LOCAL_MIDWEIGHT), NOW
    )


def test_budget_exceeded_describes_every_denial():
    denial = Denial(
        budget_id="bud_1",
        policy_id="pol_1",
        policy_name="daily",
        window_key="d",
        limit_kind="tokens",
        limit=Decimal(100),
        used=Decimal(90),
        reserved=Decimal(5),
        requested=Decimal(10),
        resets_at=None,
    )
    error = BudgetExceeded([denial])
    assert error.policy_id == "pol_1" and error.retry_after_seconds is None
    assert "limit 100, used 90, reserved 5, requested 10" in str(error)
    assert error.to_dict()["denials"][0]["window"] == "d"


def test_the_allocation_cache_keeps_the_newest_within_its_size():
    from datetime import UTC, datetime

    from budget.domain.models import RequestAttributes
    from budget.engine.context import Held, HeldCache

    cache = HeldCache(size=3)
    for i in range(5):
        cache.put(Held(f"alc_{i}", "c", RequestAttributes(), datetime.now(UTC), ((i, "p", "k"),)))
    assert [cache.get(f"alc_{i}") is not None for i in range(5)] == [False, False, True, True, True]
    assert cache.get("alc_4").window_ids == [4]
    cache.drop("alc_4")
    assert cache.get("alc_4") is None
