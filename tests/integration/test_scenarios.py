"""The two older designs as scenarios, on SQLite and on PostgreSQL.

Apollo: token allocations per context, session and task, sized by task type
and priority, with critical headroom and expiry.
Rhetor: USD per provider per day / week / month, with ignore / warn / enforce,
alerts raised once per threshold and window, and cheaper-model advice.
Plus the unpriced model and usage recorded without an allocation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import budget
from budget import AlertKind, AllocationStatus

# gpt-4o costs $2.50 per million input tokens: 40 000 input tokens are $0.10.
TEN_CENTS = {"provider": "openai", "model": "gpt-4o", "input_tokens": 40_000}


def windows_of(svc, budget_id: str) -> dict[tuple[str, str], object]:
    """(policy id, window key) -> WindowStatus."""
    return {(w.policy_id, w.window): w for w in svc.summary(budget_id).windows}


def window(svc, budget_id: str, policy_id: str):
    (found,) = [w for w in svc.summary(budget_id).windows if w.policy_id == policy_id]
    return found


def alert_kinds(svc, budget_id: str | None = None, kind: str | None = None) -> list[AlertKind]:
    return [a.kind for a in svc.list_alerts(budget_id=budget_id, kind=kind, limit=1000)]


# --- Apollo ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "priority", "tokens"),
    [
        ("coding", 8, 16_000),
        ("coding", 10, 32_000),
        ("analysis", 1, 4_000),
        ("chat", 5, 4_000),
        ("chat", "critical", 16_000),
        ("embedding", 10, 100_000),
        ("embedding", 1, 10_000),
        (None, 5, 2_000),
        ("unknown-kind", 8, 4_000),  # falls back to the default sizes
        ("coding", 7, 8_000),  # between levels: the size of the level below
    ],
)
def test_apollo_default_allocation_size_by_task_type_and_priority(svc, task_type, priority, tokens):
    alloc = svc.allocate(context_id="ctx", task_type=task_type, priority=priority)
    assert alloc.tokens_requested == alloc.tokens_reserved == alloc.tokens_remaining == tokens
    assert alloc.status is AllocationStatus.ACTIVE


def test_apollo_per_session_and_per_task_windows(svc):
    team = svc.create_budget(name="apollo")
    session = svc.add_policy(
        team.budget_id, type="hard_limit", period="per_session", token_limit=20_000
    )
    task = svc.add_policy(team.budget_id, type="warn", period="per_task", token_limit=30_000)
    coding = {"task_type": "coding", "priority": 8}  # 16 000 tokens each

    a = svc.allocate(context_id="ctx-1", session_id="s1", task_id="t1", **coding)
    assert a.tokens_reserved == 16_000
    assert set(a.policy_ids) == {session.policy_id, task.policy_id}
    with pytest.raises(budget.BudgetExceeded) as info:
        svc.allocate(context_id="ctx-2", session_id="s1", task_id="t2", **coding)
    assert info.value.policy_id == session.policy_id
    assert info.value.window_key == "session:s1"
    assert info.value.resets_at is None and info.value.retry_after_seconds is None
    # Another session has its own window; task t1 is past its (warn) limit.
    svc.allocate(context_id="ctx-3", session_id="s2", task_id="t1", **coding)
    # Without session and task ids both fall back to the context id.
    d = svc.allocate(context_id="ctx-4", task_type="chat", provider="openai", model="gpt-4o-mini")
    assert d.attributes.session_id == d.attributes.task_id == "ctx-4"

    reserved = {key: w.tokens_reserved for key, w in windows_of(svc, team.budget_id).items()}
    assert reserved == {
        (session.policy_id, "session:s1"): 16_000,
        (session.policy_id, "session:s2"): 16_000,
        (session.policy_id, "session:ctx-4"): 4_000,
        (task.policy_id, "task:t1"): 32_000,
        (task.policy_id, "task:ctx-4"): 4_000,
        # the refused request reserved nothing; the window it met for task t2 was
        # made (from the ledger) before the decision and holds nothing
        (task.policy_id, "task:t2"): 0,
    }

    # Usage reported for a context falls on that context's session window.
    svc.record_usage(allocation_id=d.allocation_id, input_tokens=1_000, output_tokens=500)
    svc.release(d.allocation_id)
    after = windows_of(svc, team.budget_id)[(session.policy_id, "session:ctx-4")]
    assert (after.tokens_used, after.tokens_reserved) == (1_500, 0)


def test_apollo_critical_headroom(svc):
    team = svc.create_budget(name="headroom")
    policy = svc.add_policy(
        team.budget_id,
        type="hard_limit",
        period="total",
        token_limit=10_000,
        critical_headroom=0.2,
    )
    for i in range(8):
        svc.allocate(context_id=f"n{i}", tokens=1_000, priority=5)
    # 80 %: normal (and high) priority requests are denied ...
    for priority in (1, 5, 8, 9):
        with pytest.raises(budget.BudgetExceeded):
            svc.allocate(context_id="late", tokens=1, priority=priority)
    # ... a critical one still passes, up to 100 % ...
    svc.allocate(context_id="c1", tokens=1_500, priority=10)
    svc.allocate(context_id="c2", tokens=500, priority="critical")
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 10_000
    # ... and never beyond.
    with pytest.raises(budget.BudgetExceeded) as info:
        svc.allocate(context_id="c3", tokens=1, priority=10)
    assert info.value.policy_id == policy.policy_id
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 10_000


def test_apollo_critical_headroom_is_refused_when_it_would_pass_the_limit(svc):
    team = svc.create_budget(name="headroom-edge")
    policy = svc.add_policy(
        team.budget_id,
        type="hard_limit",
        period="total",
        token_limit=10_000,
        critical_headroom="0.2",
    )
    svc.allocate(context_id="n", tokens=8_000)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", tokens=2_001, priority=10)
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 8_000


def test_apollo_without_headroom_critical_is_denied_like_any_other(svc):
    team = svc.create_budget(name="no-headroom")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=10_000)
    # Without headroom normal requests may fill the whole limit.
    svc.allocate(context_id="n", tokens=9_000, priority=5)
    svc.allocate(context_id="n2", tokens=1_000, priority=1)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", tokens=1, priority=10)
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 10_000


def test_apollo_unreleased_allocation_expires_on_access(svc, pinned_clock):
    team = svc.create_budget(name="expiry")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=1_000)
    alloc = svc.allocate(context_id="forgetful", tokens=600, ttl_seconds=60)
    assert alloc.expires_at == datetime(2026, 11, 29, 12, 1, tzinfo=UTC)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="other", tokens=600)

    pinned_clock.advance(seconds=59)
    assert svc.get_allocation(alloc.allocation_id).status is AllocationStatus.ACTIVE
    pinned_clock.advance(seconds=2)
    expired = svc.get_allocation(alloc.allocation_id)
    assert expired.status is AllocationStatus.EXPIRED
    assert expired.tokens_remaining == 0 and expired.closed_at == pinned_clock.now
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 0
    # Already expired: releasing, reading again or sweeping returns nothing twice.
    assert svc.release(alloc.allocation_id).status is AllocationStatus.EXPIRED
    assert svc.get_allocation(alloc.allocation_id).status is AllocationStatus.EXPIRED
    assert svc.sweep_expired() == 0
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 0
    svc.allocate(context_id="other", tokens=1_000)

    alerts = svc.list_alerts(kind="allocation_expired")
    assert len(alerts) == 1
    assert alerts[0].details["allocation_id"] == alloc.allocation_id
    assert alerts[0].details["tokens_returned"] == 600


def test_apollo_sweep_returns_expired_reservations(svc, pinned_clock):
    team = svc.create_budget(name="sweep")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=10_000)
    mini = {"provider": "openai", "model": "gpt-4o-mini"}
    kept = svc.allocate(context_id="long", tokens=1_000, ttl_seconds=3_600, **mini)
    short = [
        svc.allocate(context_id="short", tokens=2_000, ttl_seconds=60, **mini) for _ in range(3)
    ]
    used = short[0]
    svc.record_usage(allocation_id=used.allocation_id, input_tokens=500, output_tokens=200)
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 1_000 + 6_000 - 700

    pinned_clock.advance(seconds=61)
    assert svc.sweep_expired() == 3
    assert svc.sweep_expired() == 0
    state = window(svc, team.budget_id, policy.policy_id)
    assert (state.tokens_used, state.tokens_reserved) == (700, 1_000)
    assert svc.get_allocation(kept.allocation_id).status is AllocationStatus.ACTIVE
    for alloc in short:
        assert svc.get_allocation(alloc.allocation_id).status is AllocationStatus.EXPIRED
    assert svc.get_allocation(used.allocation_id).tokens_used == 700
    # One alert for the forgetful context, not one per allocation.
    assert alert_kinds(svc, kind="allocation_expired") == [AlertKind.ALLOCATION_EXPIRED]


def test_apollo_expired_allocations_make_room_for_a_new_one(svc, pinned_clock):
    team = svc.create_budget(name="expiry-room")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=1_000)
    first = svc.allocate(context_id="a", tokens=900, ttl_seconds=60)
    pinned_clock.advance(minutes=5)
    svc.allocate(context_id="b", tokens=900)  # the expired one is returned first
    assert svc.get_allocation(first.allocation_id).status is AllocationStatus.EXPIRED
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 900
    assert len(svc.list_alerts(kind="allocation_expired")) == 1


# --- Rhetor ------------------------------------------------------------------------


def test_rhetor_ignore_policy_counts_but_never_alerts_or_denies(svc, pinned_clock):
    team = svc.create_budget(name="ignore")
    policy = svc.add_policy(
        team.budget_id,
        type="ignore",
        period="weekly",
        cost_limit="0.05",
        provider="openai",
        warning_thresholds=[0.5, 0.8],
    )
    for _ in range(5):
        svc.record_usage(**TEN_CENTS)
    alloc = svc.allocate(
        context_id="big",
        provider="openai",
        model="gpt-4o",
        input_tokens=100_000,
        max_output_tokens=10_000,
    )
    assert not alloc.over_soft_limit and alloc.recommended_model is None
    state = window(svc, team.budget_id, policy.policy_id)
    assert state.window == "2026-W48"
    assert state.cost_used == Decimal("0.5") and state.cost_reserved == alloc.cost_reserved
    assert state.tokens_used == 200_000
    assert svc.list_alerts(budget_id=team.budget_id) == []


def test_rhetor_warn_alerts_once_per_threshold_and_window(svc, pinned_clock):
    team = svc.create_budget(name="warn")
    policy = svc.add_policy(
        team.budget_id,
        type="warn",
        period="daily",
        timezone="America/New_York",
        cost_limit=Decimal("1"),
        provider="openai",
        warning_thresholds=[0.5, 0.8],
        action_threshold=None,
    )
    # 12:00 UTC is 07:00 in New York: the window is 2026-11-29 there.
    for _ in range(12):
        svc.record_usage(**TEN_CENTS)
    alerts = svc.list_alerts(budget_id=team.budget_id)
    assert sorted((a.kind, a.threshold) for a in alerts) == [
        (AlertKind.LIMIT_REACHED, Decimal(1)),
        (AlertKind.THRESHOLD_CROSSED, Decimal("0.5")),
        (AlertKind.THRESHOLD_CROSSED, Decimal("0.8")),
    ]
    assert {a.window for a in alerts} == {"2026-11-29"}
    assert all(a.policy_id == policy.policy_id for a in alerts)

    # Far past the limit: a warn policy still grants, and raises nothing new.
    alloc = svc.allocate(context_id="more", provider="openai", model="gpt-4o", tokens=1_000)
    assert alloc.status is AllocationStatus.ACTIVE
    for _ in range(20):
        svc.record_usage(**TEN_CENTS)
    assert len(svc.list_alerts(budget_id=team.budget_id)) == 3
    assert window(svc, team.budget_id, policy.policy_id).cost_used == Decimal("3.2")

    # 04:59 UTC on the 30th is still the 29th in New York: the same window.
    pinned_clock.set(datetime(2026, 11, 30, 4, 59, tzinfo=UTC))
    svc.record_usage(**TEN_CENTS)
    assert window(svc, team.budget_id, policy.policy_id).cost_used == Decimal("3.3")
    # Past midnight in New York: a new window, empty, that can alert again.
    pinned_clock.set(datetime(2026, 11, 30, 5, 0, 1, tzinfo=UTC))
    fresh = window(svc, team.budget_id, policy.policy_id)
    assert fresh.window == "2026-11-30"
    assert (fresh.cost_used, fresh.cost_reserved, fresh.tokens_used) == (0, 0, 0)
    assert fresh.starts_at == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    for _ in range(5):
        svc.record_usage(**TEN_CENTS)
    new_alerts = [a for a in svc.list_alerts(budget_id=team.budget_id) if a.window == "2026-11-30"]
    assert [(a.kind, a.threshold) for a in new_alerts] == [
        (AlertKind.THRESHOLD_CROSSED, Decimal("0.5"))
    ]
    assert len(svc.list_alerts(budget_id=team.budget_id)) == 4


def test_rhetor_one_record_crossing_several_thresholds_raises_each_once(svc, pinned_clock):
    team = svc.create_budget(name="jump")
    svc.add_policy(
        team.budget_id,
        type="warn",
        period="monthly",
        cost_limit="0.15",
        provider="openai",
        warning_thresholds=["0.5", "0.8"],
    )
    svc.record_usage(**TEN_CENTS)  # 67 %
    svc.record_usage(**TEN_CENTS)  # 133 %: passes 80 %, the action threshold 95 % and the limit
    kinds = sorted(a.kind.value for a in svc.list_alerts(budget_id=team.budget_id))
    assert kinds == ["action_threshold", "limit_reached", "threshold_crossed", "threshold_crossed"]


def test_rhetor_daily_weekly_monthly_windows_per_provider(svc, pinned_clock):
    team = svc.create_budget(name="periods")
    tz = "Europe/Berlin"
    daily = svc.add_policy(
        team.budget_id, type="warn", period="daily", cost_limit=5, provider="openai", timezone=tz
    )
    weekly = svc.add_policy(
        team.budget_id, type="warn", period="weekly", cost_limit=25, provider="openai", timezone=tz
    )
    monthly = svc.add_policy(
        team.budget_id,
        type="warn",
        period="monthly",
        cost_limit=100,
        provider="openai",
        timezone=tz,
    )
    other = svc.add_policy(
        team.budget_id, type="warn", period="daily", cost_limit=5, provider="anthropic", timezone=tz
    )

    def used() -> dict[str, tuple[str, Decimal]]:
        return {
            name: (
                window(svc, team.budget_id, p.policy_id).window,
                window(svc, team.budget_id, p.policy_id).cost_used,
            )
            for name, p in [("d", daily), ("w", weekly), ("m", monthly), ("a", other)]
        }

    svc.record_usage(**TEN_CENTS)  # Sunday 2026-11-29, 13:00 in Berlin
    assert used() == {
        "d": ("2026-11-29", Decimal("0.1")),
        "w": ("2026-W48", Decimal("0.1")),
        "m": ("2026-11", Decimal("0.1")),
        "a": ("2026-11-29", Decimal(0)),
    }
    # 23:30 UTC is 00:30 on Monday in Berlin: a new day and a new week.
    pinned_clock.set(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    svc.record_usage(**TEN_CENTS)
    assert used() == {
        "d": ("2026-11-30", Decimal("0.1")),
        "w": ("2026-W49", Decimal("0.1")),
        "m": ("2026-11", Decimal("0.2")),
        "a": ("2026-11-30", Decimal(0)),
    }
    # December in Berlin: a new month too.
    pinned_clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    svc.record_usage(**TEN_CENTS)
    assert used()["m"] == ("2026-12", Decimal("0.1"))
    assert used()["w"] == ("2026-W49", Decimal("0.2"))


def test_rhetor_hard_limit_per_provider(svc, pinned_clock):
    team = svc.create_budget(name="enforce")
    policy = svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", cost_limit="0.05", provider="openai"
    )
    big = {"input_tokens": 10_000, "max_output_tokens": 5_000}  # gpt-4o: $0.075
    with pytest.raises(budget.BudgetExceeded) as info:
        svc.allocate(context_id="o", provider="openai", model="gpt-4o", **big)
    denied = info.value
    assert denied.policy_id == policy.policy_id and denied.limit_kind == "usd"
    assert denied.limit == Decimal("0.05") and denied.requested == Decimal("0.075")
    assert denied.resets_at == datetime(2026, 11, 30, tzinfo=UTC)
    assert denied.retry_after_seconds == 12 * 3600 + 1
    # Anthropic is not covered by the openai limit.
    claude = svc.allocate(context_id="a", provider="anthropic", model="claude-3-5-haiku", **big)
    assert claude.status is AllocationStatus.ACTIVE and claude.policy_ids == ()
    # A cheaper openai call fits.
    mini = svc.allocate(context_id="m", provider="openai", model="gpt-4o-mini", **big)
    assert mini.policy_ids == (policy.policy_id,)
    for _ in range(3):
        with pytest.raises(budget.BudgetExceeded):
            svc.allocate(context_id="o", provider="openai", model="gpt-4o", **big)
    assert alert_kinds(svc, team.budget_id) == [AlertKind.DENIED]  # once per window
    assert window(svc, team.budget_id, policy.policy_id).cost_reserved == mini.cost_reserved


def test_rhetor_soft_limit_grants_and_recommends_a_cheaper_model(svc, pinned_clock):
    team = svc.create_budget(name="soft")
    policy = svc.add_policy(
        team.budget_id, type="soft_limit", period="daily", cost_limit="0.05", provider="openai"
    )
    call = {"input_tokens": 2_000, "max_output_tokens": 1_000}  # gpt-4o: $0.015
    under = svc.allocate(context_id="s", provider="openai", model="gpt-4o", **call)
    assert not under.over_soft_limit and under.recommended_model is None
    for _ in range(2):
        svc.allocate(context_id="s", provider="openai", model="gpt-4o", **call)
    over = svc.allocate(context_id="s", provider="openai", model="gpt-4o", **call)
    assert over.status is AllocationStatus.ACTIVE and over.over_soft_limit
    assert over.recommended_model and over.recommended_model != "gpt-4o"

    tokens = {"input_tokens": 2_000, "output_tokens": 1_000}
    requested = svc.estimate_cost(provider="openai", model="gpt-4o", **tokens)
    cheaper = svc.estimate_cost(provider="openai", model=over.recommended_model, **tokens)
    assert cheaper.priced and cheaper.cost < requested.cost
    state = window(svc, team.budget_id, policy.policy_id)
    assert state.cost_reserved == 4 * requested.cost > Decimal("0.05")


# --- unpriced models ------------------------------------------------------------------


def test_unpriced_usage_is_stored_as_unpriced_never_zero(svc, pinned_clock):
    team = svc.create_budget(name="unpriced")
    tokens = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=10_000)
    usd = svc.add_policy(team.budget_id, type="warn", period="daily", cost_limit="1")
    records = [
        svc.record_usage(
            provider="acme",
            model="nonexistent-1",
            input_tokens=1_000,
            output_tokens=500,
            request_id=f"acme-{i}",
        )
        for i in range(3)
    ]
    for record in records:
        assert record.priced is False
        assert record.cost is None and record.cost_breakdown is None
        assert record.price_id is None
    assert svc.get_usage(records[0].usage_id).cost is None
    assert len(svc.list_alerts(kind="unpriced_model")) == 1
    assert svc.list_alerts(kind="unpriced_model")[0].details == {
        "provider": "acme",
        "model": "nonexistent-1",
        "hint": "no price for model 'nonexistent-1' at platform 'acme': looked for "
        "acme/nonexistent-1 (the catalog has no prices for this platform); "
        "acme declares no fallback platform",
    }

    priced = svc.record_usage(**TEN_CENTS)
    totals = svc.usage_totals()
    assert totals == {
        "records": 4,
        "tokens": 4_500 + 40_000,
        "cost": Decimal("0.1"),
        "unpriced_records": 3,
    }
    assert {r.usage_id for r in svc.list_usage(priced=False)} == {r.usage_id for r in records}
    assert svc.list_usage(priced=True)[0].usage_id == priced.usage_id

    assert window(svc, team.budget_id, tokens.policy_id).tokens_used == 44_500  # over: it happened
    assert window(svc, team.budget_id, usd.policy_id).cost_used == Decimal("0.1")
    assert window(svc, team.budget_id, usd.policy_id).tokens_used == 44_500


def test_unpriced_allocation_against_a_hard_usd_limit_is_refused(svc, pinned_clock):
    team = svc.create_budget(name="unpriced-hard")
    usd = svc.add_policy(team.budget_id, type="hard_limit", period="daily", cost_limit="5")
    tokens = svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=100_000)
    with pytest.raises(budget.PriceUnknown) as info:
        svc.allocate(context_id="x", provider="acme", model="nonexistent-1", tokens=1_000)
    assert info.value.field == "model" and info.value.value == "nonexistent-1"
    assert info.value.policy_id == usd.policy_id
    assert svc.list_allocations() == []
    for policy in (usd, tokens):
        state = window(svc, team.budget_id, policy.policy_id)
        assert (state.tokens_reserved, state.cost_reserved) == (0, 0)
    assert len(svc.list_alerts(kind="unpriced_model")) == 1
    # A token-only limit does not need a price.
    svc.disable_policy(usd.policy_id)
    alloc = svc.allocate(context_id="x", provider="acme", model="nonexistent-1", tokens=1_000)
    assert alloc.cost_reserved == 0 and alloc.tokens_reserved == 1_000


# --- usage without an allocation ----------------------------------------------------------


def test_usage_without_allocation_can_pass_a_hard_limit_and_then_denies(svc, pinned_clock):
    team = svc.create_budget(name="direct")
    policy = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=1_000)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=600, output_tokens=100)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=700, output_tokens=100)
    state = window(svc, team.budget_id, policy.policy_id)
    assert state.tokens_used == 1_500 and state.tokens_remaining == 0
    assert state.utilization == Decimal("1.5")
    assert alert_kinds(svc, team.budget_id, "limit_reached") == [AlertKind.LIMIT_REACHED]

    with pytest.raises(budget.BudgetExceeded) as info:
        svc.allocate(context_id="late", provider="openai", model="gpt-4o", tokens=1)
    assert info.value.used == 1_500 and info.value.limit == 1_000
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="late", tokens=1, priority=10)
    assert window(svc, team.budget_id, policy.policy_id).tokens_reserved == 0
    assert svc.usage_totals()["tokens"] == 1_500
