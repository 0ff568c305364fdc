"""Policy and budget decisions of the engine, on fake repositories (no SQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fake_units import Recorder, fake_context

from budget.domain.models import Budget, Policy
from budget.engine import budgets, policies
from budget.errors import Conflict, NotFound, ValidationError
from budget.storage.mapping import row_to_policy

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


class FakeBudgets:
    def __init__(self, *names: str) -> None:
        self.rows = {f"bud_{name}": name for name in names}
        self.inserted: list[dict[str, Any]] = []

    def get(self, budget_id: str) -> Budget | None:
        name = self.rows.get(budget_id)
        if name is None:
            return None
        return Budget(budget_id, name, None, None, True, {}, NOW, NOW)

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        return any(n == name and i != except_id for i, n in self.rows.items())

    def insert(self, fields: dict[str, Any], now: datetime) -> str:
        self.inserted.append(fields)
        self.rows[f"bud_{fields['name']}"] = fields["name"]
        return f"bud_{fields['name']}"


class FakePolicies:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.retired: list[str] = []

    def insert(self, budget_id: str, fields: dict[str, Any], now: datetime) -> str:
        policy_id = f"pol_{len(self.stored) + 1}"
        self.stored[policy_id] = {
            **fields,
            "id": policy_id,
            "budget_id": budget_id,
            "created_at": now,
            "updated_at": now,
        }
        return policy_id

    def get(self, policy_id: str) -> Policy | None:
        columns = self.stored.get(policy_id)
        return None if columns is None else row_to_policy(SimpleNamespace(**columns))

    def columns(self, policy_id: str) -> dict[str, Any] | None:
        columns = self.stored.get(policy_id)
        return None if columns is None else dict(columns)

    def update(self, policy_id: str, fields: dict[str, Any], now: datetime) -> None:
        self.stored[policy_id].update(fields, updated_at=now)

    def retire_windows(self, policy_id: str, now: datetime) -> None:
        self.retired.append(policy_id)


@pytest.fixture
def bumps(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(budgets, "bump_version", recorder)
    monkeypatch.setattr(policies, "bump_version", recorder)
    return recorder


@pytest.fixture
def ctx():
    return fake_context(budgets=FakeBudgets("team"), policies=FakePolicies())


def test_a_taken_budget_name_is_a_conflict_before_any_write(bumps) -> None:
    ctx = fake_context(budgets=FakeBudgets("team"))
    with pytest.raises(Conflict) as err:
        budgets.create_budget(ctx, "team")
    assert (err.value.field, err.value.value) == ("name", "team")
    assert ctx.db.unit.budgets.inserted == [] and bumps.calls == []


def test_a_new_budget_tells_every_process(bumps) -> None:
    ctx = fake_context(budgets=FakeBudgets())
    made = budgets.create_budget(ctx, " ops ", owner="platform")
    assert made.name == "ops"
    assert ctx.db.unit.budgets.inserted[0]["owner"] == "platform"
    assert [call[1] for call in bumps.calls] == ["policies_version"]


def test_a_policy_of_a_budget_that_is_not_there_is_never_written(ctx, bumps) -> None:
    with pytest.raises(NotFound):
        policies.add_policy(ctx, "bud_gone", type="hard_limit", period="daily", token_limit=10)
    assert ctx.db.unit.policies.stored == {} and bumps.calls == []


def test_a_policy_is_validated_as_a_whole_before_it_is_stored(ctx, bumps) -> None:
    with pytest.raises(ValidationError) as err:
        policies.add_policy(ctx, "bud_team", type="hard_limit", period="daily")
    assert err.value.field == "token_limit"
    with pytest.raises(ValidationError) as err:
        policies.add_policy(
            ctx, "bud_team", type="hard_limit", period="daily", token_limit=1, each="tags"
        )
    assert err.value.field == "each"
    assert ctx.db.unit.policies.stored == {}


def test_a_new_limit_keeps_the_windows_a_new_scope_retires_them(ctx, bumps) -> None:
    made = policies.add_policy(ctx, "bud_team", type="hard_limit", period="daily", token_limit=100)
    assert made.name == "daily-hard_limit"
    repo = ctx.db.unit.policies

    policies.update_policy(ctx, made.policy_id, token_limit=200, name="renamed")
    assert repo.retired == []  # what the windows counted stays right

    policies.update_policy(ctx, made.policy_id, user="alice")
    assert repo.retired == [made.policy_id]
    assert policies.get_policy(ctx, made.policy_id).scope.user == "alice"
    assert len(bumps.calls) == 3


def test_reshaping_is_decided_on_the_stored_columns() -> None:
    before = {name: None for name in policies._WINDOW_SHAPING}
    assert not policies.reshapes_windows(before, {**before, "token_limit": 5})
    assert policies.reshapes_windows(before, {**before, "timezone": "Europe/Paris"})
    assert policies.reshapes_windows(before, {**before, "tags": ["batch"]})


def test_an_unknown_policy_field_is_refused_by_name(ctx, bumps) -> None:
    made = policies.add_policy(ctx, "bud_team", type="warn", period="monthly", cost_limit="5")
    with pytest.raises(ValidationError) as err:
        policies.update_policy(ctx, made.policy_id, colour="red")
    assert err.value.field == "colour"
    with pytest.raises(NotFound):
        policies.update_policy(ctx, "pol_gone", token_limit=1)
