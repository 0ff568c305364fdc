"""Budgets and policies: create, read, update, delete, on both backends."""

from decimal import Decimal

import pytest

import budget
from budget.clock import utcnow
from budget.domain.enums import Period, PolicyType


def test_budget_crud(svc):
    team = svc.create_budget(name="team", owner="platform", metadata={"cost_center": 42})
    assert svc.get_budget(team.budget_id).metadata == {"cost_center": 42}
    assert svc.find_budget("team").budget_id == team.budget_id
    renamed = svc.update_budget(team.budget_id, name="team-2", description="second")
    assert renamed.name == "team-2" and renamed.description == "second"
    assert renamed.owner == "platform"
    svc.create_budget(name="other", owner="research")
    assert [b.name for b in svc.list_budgets()] == ["other", "team-2"]
    assert [b.name for b in svc.list_budgets(owner="research")] == ["other"]
    svc.delete_budget(team.budget_id)
    with pytest.raises(budget.NotFound):
        svc.get_budget(team.budget_id)
    # the name is free again once the budget is deleted
    assert svc.create_budget(name="team-2").name == "team-2"


def test_budget_names_are_unique(svc):
    svc.create_budget(name="dup")
    with pytest.raises(budget.Conflict) as info:
        svc.create_budget(name="dup")
    assert info.value.field == "name" and "dup" in str(info.value)


def test_a_name_taken_under_the_check_is_a_conflict_from_storage(svc):
    # Two writers may both find the name free; the unique index decides, and
    # the repository names the field and the value.
    svc.create_budget(name="raced")
    with pytest.raises(budget.Conflict) as info, svc._ctx.db.write() as tx:
        tx.budgets.insert({"name": "raced", "active": True, "metadata": {}}, utcnow())
    assert (info.value.field, info.value.value) == ("name", "raced")
    assert [b.name for b in svc.list_budgets()] == ["raced"]


def test_policy_crud_and_defaults(svc):
    team = svc.create_budget(name="t")
    p = svc.add_policy(
        team.budget_id,
        type="warn",
        period="weekly",
        token_limit=5000,
        cost_limit="2.50",
        provider="OpenAI",
        tags=["prod"],
    )
    assert p.type is PolicyType.WARN and p.period is Period.WEEKLY
    assert p.cost_limit == Decimal("2.5") and p.token_limit == 5000
    assert p.warning_thresholds == (Decimal("0.8"),) and p.action_threshold == Decimal("0.95")
    assert p.scope.provider == "openai" and p.scope.tags == frozenset({"prod"})
    assert p.timezone == "UTC" and p.enabled and p.name == "weekly-warn"

    changed = svc.update_policy(p.policy_id, token_limit=9000, name="renamed")
    assert changed.token_limit == 9000 and changed.name == "renamed"
    assert changed.cost_limit == Decimal("2.5")
    assert not svc.disable_policy(p.policy_id).enabled
    assert svc.enable_policy(p.policy_id).enabled
    assert [x.policy_id for x in svc.list_policies(team.budget_id)] == [p.policy_id]
    svc.delete_policy(p.policy_id)
    assert svc.list_policies(team.budget_id) == []
    with pytest.raises(budget.NotFound):
        svc.get_policy(p.policy_id)


def test_policy_changes_apply_to_the_next_allocation(svc):
    team = svc.create_budget(name="t")
    p = svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=100)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", tokens=150)
    svc.update_policy(p.policy_id, token_limit=200)
    assert svc.allocate(context_id="c", tokens=150).tokens_reserved == 150
    svc.disable_policy(p.policy_id)
    assert svc.allocate(context_id="c", tokens=10_000).policy_ids == ()


def test_a_second_service_sees_policy_changes(db_url):
    first = budget.open(db_url)
    second = budget.open(db_url)
    try:
        team = first.create_budget(name="shared")
        second.allocate(context_id="warm-the-cache", tokens=10)
        first.add_policy(team.budget_id, type="hard_limit", period="total", token_limit=50)
        with pytest.raises(budget.BudgetExceeded):
            second.allocate(context_id="c", tokens=60)
    finally:
        first.close()
        second.close()


def test_deleted_budget_stops_applying(svc):
    team = svc.create_budget(name="t")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=10)
    svc.delete_budget(team.budget_id)
    assert svc.allocate(context_id="c", tokens=100).policy_ids == ()


def test_inactive_budget_does_not_apply(svc):
    team = svc.create_budget(name="t", active=False)
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=10)
    assert svc.allocate(context_id="c", tokens=100).policy_ids == ()
    svc.update_budget(team.budget_id, active=True)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", tokens=100)


def test_a_budgets_usage_is_what_its_policies_cover_tags_included(svc):
    team = svc.create_budget(name="tagged")
    svc.add_policy(
        team.budget_id,
        type="warn",
        period="daily",
        token_limit=10**6,
        provider="openai",
        tags=["prod"],
    )
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10, tags=["prod", "x"])
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=20, tags=["dev"])
    svc.record_usage(provider="acme", model="m-1", input_tokens=40, tags=["prod"])
    covered = svc.list_usage(budget_id=team.budget_id)
    assert [u.input_tokens for u in covered] == [10]
    assert svc.usage_totals(budget_id=team.budget_id)["tokens"] == 10
