"""Identity comes from the API key: client keys spend as themselves and see their budgets."""

import json

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app

V1 = "/api/v1"
CALL = {"context_id": "c", "provider": "openai", "model": "gpt-4o-mini", "tokens": 60}


@pytest.fixture
def world(svc):
    """Budgets of two teams with per-user and per-key limits; a key per user."""
    alpha = svc.create_budget(name="team-alpha")
    beta = svc.create_budget(name="team-beta")
    for team, user in ((alpha, "alice"), (beta, "bob")):
        svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=100,
                       user=user)  # fmt: skip
        svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=150,
                       api_key=f"{user}-app")  # fmt: skip
    _, admin = svc.create_api_key("ops", role="admin")
    _, alice = svc.create_api_key("alice-app", user="alice", budgets=["team-alpha"])
    _, bob = svc.create_api_key("bob-app", user="bob", budgets=[beta.budget_id])
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        yield (
            client,
            alpha,
            beta,
            {
                "admin": {"Authorization": f"Bearer {admin}"},
                "alice": {"Authorization": f"Bearer {alice}"},
                "bob": {"Authorization": f"Bearer {bob}"},
            },
        )


def test_a_client_key_cannot_spend_against_another_users_limit(world):
    client, _, _, auth = world
    for claim in ({"user": "bob"}, {"api_key": "bob-app"}):
        refused = client.post(f"{V1}/allocations", json={**CALL, **claim}, headers=auth["alice"])
        assert refused.status_code == 403, refused.text
        body = refused.json()
        assert body["type"] == "urn:budget:problem:forbidden"
        assert body["field"] == next(iter(claim)) and "alice" in body["detail"]
    granted = client.post(f"{V1}/allocations", json=CALL, headers=auth["alice"])
    assert granted.status_code == 201, granted.text
    assert granted.json()["attributes"]["user"] == "alice"
    assert granted.json()["attributes"]["api_key"] == "alice-app"
    # alice's 100-token user limit now holds 60: a second call does not fit
    again = client.post(f"{V1}/allocations", json=CALL, headers=auth["alice"])
    assert again.status_code == 429 and again.json()["limit"] == "100"
    # bob's limit is untouched by alice's calls
    assert client.post(f"{V1}/allocations", json=CALL, headers=auth["bob"]).status_code == 201
    usage = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 5}
    recorded = client.post(f"{V1}/usage", json=usage, headers=auth["bob"]).json()
    assert recorded["attributes"]["user"] == "bob"
    batch = client.post(
        f"{V1}/usage/batch", json={"items": [usage, {**usage, "user": "alice"}]},
        headers=auth["bob"],
    )  # fmt: skip
    assert batch.status_code == 403 and batch.json()["field"] == "items[1].user"
    checked = client.post(f"{V1}/check", json={**CALL, "user": "bob"}, headers=auth["alice"])
    assert checked.status_code == 403
    # an admin key acts as it says
    as_bob = client.post(f"{V1}/check", json={**CALL, "user": "bob"}, headers=auth["admin"])
    assert as_bob.status_code == 200


def test_a_client_key_sees_only_its_budgets(world):
    client, alpha, beta, auth = world
    listed = client.get(f"{V1}/budgets", headers=auth["alice"]).json()
    assert [b["name"] for b in listed["items"]] == ["team-alpha"] and listed["total"] == 1
    assert client.get(f"{V1}/budgets/{beta.budget_id}", headers=auth["alice"]).status_code == 404
    assert (
        client.get(f"{V1}/budgets/{beta.budget_id}/summary", headers=auth["alice"]).status_code
        == 404
    )
    summary = client.get(f"{V1}/budgets/{alpha.budget_id}/summary", headers=auth["alice"])
    assert summary.status_code == 200
    policies = client.get(f"{V1}/policies", headers=auth["alice"]).json()
    assert {p["budget_id"] for p in policies} == {alpha.budget_id}
    # bob is refused by his limit: the denial alert belongs to team-beta
    client.post(f"{V1}/allocations", json={**CALL, "tokens": 500}, headers=auth["bob"])
    assert client.get(f"{V1}/alerts", headers=auth["alice"]).json()["total"] == 0
    assert client.get(f"{V1}/alerts", headers=auth["bob"]).json()["total"] >= 1
    assert client.get(f"{V1}/alerts", headers=auth["admin"]).json()["total"] >= 1
    other = client.get(f"{V1}/usage?budget_id={beta.budget_id}", headers=auth["alice"])
    assert other.status_code == 404
    usage = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 5}
    bobs = client.post(f"{V1}/usage", json=usage, headers=auth["bob"]).json()["usage_id"]
    assert client.get(f"{V1}/usage/{bobs}", headers=auth["alice"]).status_code == 404
    assert client.get(f"{V1}/usage/{bobs}", headers=auth["bob"]).status_code == 200
    assert client.get(f"{V1}/budgets", headers=auth["admin"]).json()["total"] == 2
    # allocations: each client key sees its own, the admin key all
    mine = client.post(f"{V1}/allocations", json=CALL, headers=auth["alice"]).json()
    theirs = client.get(f"{V1}/allocations", headers=auth["bob"]).json()
    assert mine["allocation_id"] not in {a["allocation_id"] for a in theirs["items"]}
    own = client.get(f"{V1}/allocations", headers=auth["alice"]).json()
    assert {a["attributes"]["api_key"] for a in own["items"]} == {"alice-app"}
    path = f"{V1}/allocations/{mine['allocation_id']}"
    assert client.get(path, headers=auth["bob"]).status_code == 404
    assert client.get(path, headers=auth["alice"]).status_code == 200
    assert client.get(path, headers=auth["admin"]).status_code == 200
    assert client.post(f"{path}/release", headers=auth["bob"]).status_code == 404
    assert client.post(f"{path}/release", headers=auth["alice"]).json()["status"] == "released"


def test_bindings_are_made_on_client_keys_only(svc):
    team = svc.create_budget(name="t")
    key, _ = svc.create_api_key("k", user="u", project="p", component="c", budgets=["t"])
    assert (key.user, key.project, key.component) == ("u", "p", "c")
    assert key.budget_ids == (team.budget_id,)
    with pytest.raises(budget.ValidationError):
        svc.create_api_key("a", role="admin", user="u")
    with pytest.raises(budget.NotFound):
        svc.create_api_key("n", budgets=["no-such-budget"])


def test_the_cli_creates_bound_keys(svc, db_url):
    from typer.testing import CliRunner

    from budget.cli.app import app

    team = svc.create_budget(name="team-alpha")
    args = ["keys", "create", "alice-app", "--role", "client", "--user", "alice",
            "--budget", "team-alpha", "--database-url", db_url]  # fmt: skip
    run = CliRunner().invoke(app, [*args, "--json"])
    assert run.exit_code == 0, run.output
    made = json.loads(run.stdout)
    assert made["user"] == "alice" and made["budget_ids"] == [team.budget_id]
    listed = CliRunner().invoke(
        app, ["keys", "list", "--database-url", db_url], env={"COLUMNS": "250"}
    )
    assert "user=alice" in listed.stdout and team.budget_id in listed.stdout


def test_a_client_key_gets_only_its_budgets_events(world):
    client, alpha, beta, auth = world
    for who in ("alice", "bob"):
        assert client.post(f"{V1}/allocations", json=CALL, headers=auth[who]).status_code == 201
    everything = client.get(f"{V1}/events/history?after=0", headers=auth["admin"]).json()
    budgets_of = {b for e in everything["items"] for b in e["budget_ids"]}
    assert {alpha.budget_id, beta.budget_id} <= budgets_of
    mine = client.get(f"{V1}/events/history?after=0", headers=auth["alice"]).json()["items"]
    assert mine and all(alpha.budget_id in e["budget_ids"] for e in mine)
    assert not any(beta.budget_id in e["budget_ids"] for e in mine)
    other = client.get(
        f"{V1}/events/history?after=0&budget_id={beta.budget_id}", headers=auth["alice"]
    )
    assert other.status_code == 404
    stream = client.get(f"{V1}/events?budget_id={beta.budget_id}", headers=auth["alice"])
    assert stream.status_code == 404
