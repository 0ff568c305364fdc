"""A budget by id or by name: one resolver for the library, REST and (through
REST) the CLI."""

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app

V1 = "/api/v1"


def test_an_id_or_a_name_finds_the_budget_and_neither_names_the_value(svc):
    team = svc.create_budget(name="team")
    assert svc.resolve_budget(team.budget_id) == team
    assert svc.resolve_budget("team") == team
    for missing in ("nobody", "x" * 5000, ""):
        with pytest.raises(budget.NotFound) as info:
            svc.resolve_budget(missing)
        assert info.value.field == "id or name" and info.value.value == missing


def test_an_id_wins_over_a_budget_named_like_it(svc):
    first = svc.create_budget(name="first")
    svc.create_budget(name=first.budget_id)
    assert svc.resolve_budget(first.budget_id) == first


def test_rest_paths_take_an_id_or_a_name_as_the_key_may_see_it(svc):
    alpha = svc.create_budget(name="team-alpha")
    svc.create_budget(name="team-beta")
    _, alice = svc.create_api_key("alice-app", user="alice", budgets=["team-alpha"])
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        auth = {"Authorization": f"Bearer {alice}"}
        by_name = client.get(f"{V1}/budgets/team-alpha", headers=auth)
        assert by_name.status_code == 200 and by_name.json()["budget_id"] == alpha.budget_id
        summary = client.get(f"{V1}/budgets/team-alpha/summary", headers=auth)
        assert summary.json()["budget"]["budget_id"] == alpha.budget_id
        hidden = client.get(f"{V1}/budgets/team-beta", headers=auth)
        assert hidden.status_code == 404
        assert hidden.json()["detail"] == "no budget with id or name='team-beta'"
