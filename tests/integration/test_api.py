"""The REST API through the app, on both backends."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app
from budget.settings import Settings

V1 = "/api/v1"


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def make_budget(client, **policy):
    b = client.post(f"{V1}/budgets", json={"name": "team"}).json()
    if policy:
        r = client.post(f"{V1}/budgets/{b['budget_id']}/policies", json=policy)
        assert r.status_code == 201, r.text
    return b["budget_id"]


def test_walkthrough(client):
    budget_id = make_budget(
        client, type="hard_limit", period="daily", cost_limit="0.02", provider="openai"
    )
    alloc = client.post(
        f"{V1}/allocations",
        json={
            "context_id": "task-1",
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 1200,
            "max_output_tokens": 800,
        },
    )
    assert alloc.status_code == 201, alloc.text
    a = alloc.json()
    assert a["cost_reserved"] == "0.011" and a["status"] == "active"
    usage = client.post(
        f"{V1}/usage",
        json={
            "allocation_id": a["allocation_id"],
            "input_tokens": 1200,
            "output_tokens": 640,
            "request_id": "req-1",
        },
    )
    assert usage.status_code == 201 and usage.json()["cost"] == "0.0094"
    again = client.post(
        f"{V1}/usage",
        json={
            "allocation_id": a["allocation_id"],
            "input_tokens": 1200,
            "output_tokens": 640,
            "request_id": "req-1",
        },
    )
    assert again.json()["usage_id"] == usage.json()["usage_id"]
    released = client.post(f"{V1}/allocations/{a['allocation_id']}/release").json()
    assert released["status"] == "released"
    summary = client.get(f"{V1}/budgets/{budget_id}/summary").json()
    (window,) = summary["windows"]
    assert window["cost_used"] == "0.0094" and window["cost_reserved"] == "0"
    denied = client.post(
        f"{V1}/allocations",
        json={
            "context_id": "task-2",
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 2000,
            "max_output_tokens": 2000,
        },
    )
    body = problem(denied, 429)
    assert int(denied.headers["retry-after"]) > 0
    assert body["limit"] == "0.02" and body["used"] == "0.0094"
    assert body["policy_id"] and body["window"] and body["resets_at"]


def test_pagination_and_filters(client):
    for i in range(5):
        client.post(f"{V1}/budgets", json={"name": f"b{i}", "owner": "x" if i % 2 else "y"})
    page = client.get(f"{V1}/budgets", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5 and [b["name"] for b in page["items"]] == ["b1", "b2"]
    assert client.get(f"{V1}/budgets", params={"owner": "x"}).json()["total"] == 2
    problem(client.get(f"{V1}/budgets", params={"limit": 0}), 422)


def test_usage_list_batch_and_totals(client):
    items = [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 1000 * (i + 1),
            "output_tokens": 10,
            "component": "c1" if i < 2 else "c2",
        }
        for i in range(3)
    ]
    r = client.post(f"{V1}/usage/batch", json={"items": items})
    assert r.status_code == 201 and len(r.json()) == 3
    listed = client.get(f"{V1}/usage", params={"component": "c1"}).json()
    assert listed["total"] == 2
    totals = client.get(f"{V1}/usage/totals").json()
    assert totals["records"] == 3 and totals["tokens"] == 6030
    assert Decimal(totals["cost"]) == sum(Decimal(u["cost"]) for u in r.json())
    one = client.get(f"{V1}/usage/{r.json()[0]['usage_id']}").json()
    assert one["cost_breakdown"]["total"] == one["cost"]


def test_errors_are_problems_naming_the_field(client):
    budget_id = make_budget(client)
    body = problem(
        client.post(
            f"{V1}/budgets/{budget_id}/policies",
            json={"type": "warn", "period": "daily", "token_limit": 5, "timezone": "Nowhere/Land"},
        ),
        422,
    )
    assert body["field"] == "timezone" and body["value"] == "Nowhere/Land"
    body = problem(
        client.post(
            f"{V1}/budgets/{budget_id}/policies",
            json={"type": "warn", "period": "yearly", "token_limit": 5},
        ),
        422,
    )
    assert body["field"] == "period"
    body = problem(
        client.post(
            f"{V1}/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": -1}
        ),
        422,
    )
    assert body["field"] == "input_tokens"
    problem(client.get(f"{V1}/budgets/bud_missing"), 404)
    problem(client.post(f"{V1}/allocations/alc_missing/release"), 404)
    problem(client.post(f"{V1}/budgets", json={"name": "team"}), 409)
    problem(
        client.post(
            f"{V1}/usage", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
    )
    client.post(
        f"{V1}/usage",
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 1, "request_id": "r"},
    )
    body = problem(
        client.post(
            f"{V1}/usage",
            json={"provider": "openai", "model": "gpt-4o", "input_tokens": 2, "request_id": "r"},
        ),
        409,
    )
    assert body["field"] == "request_id"


def test_check_estimate_alerts_and_policies(client):
    budget_id = make_budget(
        client, type="warn", period="monthly", token_limit=1000, warning_thresholds=[0.5]
    )
    check = client.post(f"{V1}/check", json={"tokens": 10}).json()
    assert check["allowed"] and len(check["policy_ids"]) == 1
    client.post(f"{V1}/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 600})
    alerts = client.get(f"{V1}/alerts", params={"budget_id": budget_id}).json()
    assert alerts["total"] == 1 and alerts["items"][0]["kind"] == "threshold_crossed"
    alert_id = alerts["items"][0]["alert_id"]
    acked = client.post(f"{V1}/alerts/{alert_id}/acknowledge", json={"by": "ops"}).json()
    assert acked["acknowledged_by"] == "ops"
    est = client.post(
        f"{V1}/estimate",
        json={"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 500},
    )
    assert est.json()["cost"] == "0.0075"
    (policy,) = client.get(f"{V1}/budgets/{budget_id}/policies").json()
    patched = client.patch(f"{V1}/policies/{policy['policy_id']}", json={"token_limit": 2000})
    assert patched.json()["token_limit"] == 2000
    assert client.post(f"{V1}/policies/{policy['policy_id']}/disable").json()["enabled"] is False
    assert client.delete(f"{V1}/policies/{policy['policy_id']}").status_code == 204


def test_api_keys_and_roles(client):
    admin = client.post(f"{V1}/keys", json={"name": "ops", "role": "admin"}).json()
    client_key = client.post(
        f"{V1}/keys", json={"name": "app"}, headers={"Authorization": f"Bearer {admin['secret']}"}
    ).json()
    assert client_key["role"] == "client" and "secret" in client_key
    client.app.state.keys_checked_at = -1e9  # forget the cached "no keys yet"
    problem(client.get(f"{V1}/budgets"), 401)
    problem(client.get(f"{V1}/budgets", headers={"X-API-Key": "bgt_wrong"}), 401)
    as_client = {"Authorization": f"Bearer {client_key['secret']}"}
    assert client.get(f"{V1}/budgets", headers=as_client).status_code == 200
    assert (
        client.post(
            f"{V1}/allocations", json={"context_id": "c", "tokens": 5}, headers=as_client
        ).status_code
        == 201
    )
    body = problem(client.post(f"{V1}/budgets", json={"name": "x"}, headers=as_client), 403)
    assert client_key["secret"] not in body["detail"]
    as_admin = {"Authorization": f"Bearer {admin['secret']}"}
    listed = client.get(f"{V1}/keys", headers=as_admin).json()
    assert {k["name"] for k in listed} == {"ops", "app"}
    assert all("secret" not in k for k in listed)
    client.post(f"{V1}/keys/{client_key['key_id']}/revoke", headers=as_admin)
    problem(client.get(f"{V1}/budgets", headers=as_client), 401)


def test_health_ready_metrics_docs(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    client.post(f"{V1}/allocations", json={"context_id": "c", "tokens": 5})
    metrics = client.get("/metrics").text
    assert "budget_http_request_seconds" in metrics and "budget_allocations_total" in metrics
    assert client.get("/openapi.json").json()["info"]["title"] == "Budget"
    assert client.get("/docs").status_code == 200


def test_prices_endpoints(client):
    listed = client.get(f"{V1}/prices", params={"provider": "openai", "search": "gpt-4o"}).json()
    assert listed["total"] >= 2 and all("gpt-4o" in p["model"] for p in listed["items"])
    current = client.get(
        f"{V1}/prices/current", params={"provider": "openai", "model": "gpt-4o"}
    ).json()
    assert current["rates"]["input"]["base"] == "2.5"
    problem(client.get(f"{V1}/prices/current", params={"provider": "acme", "model": "x-1"}), 404)
    override = client.put(
        f"{V1}/prices/override",
        json={"provider": "acme", "model": "x-1", "input": "1", "output": "2"},
    )
    assert override.status_code == 200 and override.json()["is_override"] is True
    est = client.post(
        f"{V1}/estimate", json={"provider": "acme", "model": "x-1", "input_tokens": 1_000_000}
    ).json()
    assert est["cost"] == "1"
    history = client.get(f"{V1}/prices/history", params={"provider": "acme", "model": "x-1"})
    assert len(history.json()) == 1
    assert (
        client.delete(
            f"{V1}/prices/override", params={"provider": "openai", "model": "gpt-4o"}
        ).status_code
        == 404
    )
    assert isinstance(client.get(f"{V1}/prices/conflicts").json(), list)
    names = {s["name"] for s in client.get(f"{V1}/prices/sources").json()}
    assert {"genai-prices", "openrouter"} <= names
    report = client.post(f"{V1}/prices/update", json={"source": "genai-prices"}).json()
    assert (
        report["status"] in {"ok", "partial"} and report["sources"][0]["source"] == "genai-prices"
    )
    assert (
        client.get(f"{V1}/prices/updates/{report['update_id']}").json()["update_id"]
        == report["update_id"]
    )
    problem(client.post(f"{V1}/prices/update", json={"source": "nope"}), 404)


def test_a_server_beyond_loopback_never_opens(db_url):
    # bound to 0.0.0.0 without --insecure: no live key means no answer, before
    # the first key and again once the last one is revoked
    svc = budget.open(settings=Settings(database_url=db_url, service_host="0.0.0.0"))
    try:
        with TestClient(create_app(svc), base_url="http://10.0.0.5") as c:
            body = problem(c.get(f"{V1}/budgets"), 401)
            assert "budget keys create" in body["detail"]
            key, secret = svc.create_api_key("ops", role="admin")
            auth = {"Authorization": f"Bearer {secret}"}
            assert c.get(f"{V1}/budgets", headers=auth).status_code == 200
            assert c.post(f"{V1}/keys/{key.key_id}/revoke", headers=auth).status_code == 200
            c.app.state.keys_checked_at = -1e9  # forget the cached "keys exist"
            problem(c.get(f"{V1}/budgets"), 401)
            problem(c.get(f"{V1}/budgets", headers=auth), 401)
    finally:
        svc.close()
    insecure = Settings(database_url=db_url, service_host="0.0.0.0", service_insecure=True)
    svc = budget.open(settings=insecure)
    try:
        with TestClient(create_app(svc), base_url="http://10.0.0.5") as c:
            assert c.get(f"{V1}/budgets").status_code == 200  # --insecure: open on purpose
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8013", 200),
        ("localhost:8013", 200),
        ("[::1]:8013", 200),
        ("127.1.2.3", 200),
        ("evil.example:8013", 403),
        ("localhost.evil.example", 403),
        ("", 403),
    ],
)
def test_an_open_server_answers_only_loopback_host_names(client, host, status):
    response = client.get(f"{V1}/budgets", headers={"host": host})
    assert response.status_code == status, response.text
    if status == 403:
        assert "DNS rebinding" in problem(response, 403)["detail"]


def test_last_used_at_is_written_at_most_once_a_minute(svc, pinned_clock):
    _, secret = svc.create_api_key("ops", role="admin")
    assert svc.list_api_keys()[0].last_used_at is None
    first = svc.authenticate(secret).last_used_at
    assert first == pinned_clock.now
    pinned_clock.advance(seconds=30)
    svc.authenticate(secret)
    assert svc.list_api_keys()[0].last_used_at == first
    pinned_clock.advance(seconds=31)
    svc.authenticate(secret)
    assert svc.list_api_keys()[0].last_used_at == pinned_clock.now
