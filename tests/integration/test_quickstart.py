"""The README's library quickstart, as written, on both backends."""

from decimal import Decimal

import pytest

import budget


def test_quickstart_flow(svc):
    team = svc.create_budget(name="team-alpha", owner="platform")
    hard = svc.add_policy(
        team.budget_id,
        type="hard_limit",
        period="daily",
        cost_limit=Decimal("5"),
        provider="openai",
        timezone="Europe/Berlin",
    )
    warn = svc.add_policy(
        team.budget_id,
        type="warn",
        period="monthly",
        token_limit=2_000_000,
        warning_thresholds=[0.5, 0.8],
    )
    alloc = svc.allocate(
        context_id="task-42",
        component="rhetor",
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        max_output_tokens=800,
        priority=5,
    )
    assert alloc.tokens_reserved == 2000
    # gpt-4o: $2.50 / $10 per million: 1200 in + 800 out = 0.003 + 0.008
    assert alloc.cost_reserved == Decimal("0.011")
    assert set(alloc.policy_ids) == {hard.policy_id, warn.policy_id}

    rec = svc.record_usage(
        allocation_id=alloc.allocation_id,
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        output_tokens=640,
        request_id="req-1",
    )
    assert rec.priced and rec.cost == Decimal("0.0094")
    assert rec.attributes.component == "rhetor"  # inherited from the allocation

    released = svc.release(alloc.allocation_id)
    assert released.status is budget.AllocationStatus.RELEASED
    assert released.tokens_remaining == 0

    windows = {w.policy_id: w for w in svc.summary(team.budget_id).windows}
    daily = windows[hard.policy_id]
    assert daily.cost_used == Decimal("0.0094") and daily.cost_reserved == 0
    assert daily.cost_remaining == Decimal("4.9906")
    assert daily.resets_at is not None
    monthly = windows[warn.policy_id]
    assert monthly.tokens_used == 1840 and monthly.tokens_reserved == 0
    assert monthly.tokens_remaining == 2_000_000 - 1840

    with svc.spend(
        context_id="task-44",
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        max_output_tokens=800,
    ) as call:
        assert call.allocation.cost_reserved == Decimal("0.011")
        call.record(output_tokens=640, request_id="req-2")
    assert call.usage.cost == Decimal("0.0094") and call.usage.input_tokens == 1200
    daily = {w.policy_id: w for w in svc.summary(team.budget_id).windows}[hard.policy_id]
    assert daily.cost_used == Decimal("0.0188") and daily.cost_reserved == 0

    estimate = svc.estimate_cost(
        provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=500
    )
    assert estimate.cost == Decimal("0.0075")


def test_budget_exceeded_carries_the_details(svc):
    team = svc.create_budget(name="small")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=1000)
    svc.allocate(context_id="a", provider="openai", model="gpt-4o", tokens=800)
    with pytest.raises(budget.BudgetExceeded) as info:
        svc.allocate(context_id="b", provider="openai", model="gpt-4o", tokens=300)
    denied = info.value
    assert denied.policy_id == policy.policy_id
    assert denied.limit == 1000 and denied.used == 0 and denied.reserved == 800
    assert denied.requested == 300
    assert denied.window_key and denied.resets_at is not None
    assert denied.retry_after_seconds is not None and denied.retry_after_seconds > 0
    assert "1000" in str(denied) and policy.policy_id in str(denied)
