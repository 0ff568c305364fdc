"""The events and webhooks endpoints in-process: admin keys, validation that names
the field, 404s, the history and types listings, and /mcp behind the keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import budget
from budget.server.app import create_app

B = "/api/v1"


@pytest.fixture
def svc(db_url):
    """A service whose webhooks may target loopback addresses."""
    service = budget.open(db_url, pool_size=5, webhook_allow_private=True)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as c:
        yield c


def test_webhooks_can_be_created_listed_and_removed(client):
    created = client.post(f"{B}/webhooks", json={"url": "http://127.0.0.1:9/x"})
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    hook = created.json()["webhook_id"]
    listed = client.get(f"{B}/webhooks").json()
    assert [h["webhook_id"] for h in listed] == [hook] and "secret" not in listed[0]
    assert client.get(f"{B}/webhooks/{hook}").json()["event_types"] == []
    page = client.get(f"{B}/webhooks/{hook}/deliveries").json()
    assert page == {"items": [], "total": 0, "limit": 100, "offset": 0}
    assert client.post(f"{B}/webhooks/{hook}/replay", json={}).json() == {"replayed": 0}
    assert client.delete(f"{B}/webhooks/{hook}").status_code == 204
    assert client.get(f"{B}/webhooks/{hook}").status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "mailto:ops@example.com"}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["no.such"]}, "events"),
        ({"url": "http://127.0.0.1:9/x", "colour": "red"}, "colour"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_field(client, body, field):
    answer = client.post(f"{B}/webhooks", json=body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field


def test_unknown_budget_and_delivery_are_404(client):
    answer = client.post(f"{B}/webhooks", json={"url": "http://x.test/", "budget_id": "bud_no"})
    assert answer.status_code == 404 and "bud_no" in answer.json()["detail"]
    hook = client.post(f"{B}/webhooks", json={"url": "http://x.test/"}).json()["webhook_id"]
    missing = client.post(f"{B}/webhooks/{hook}/replay", json={"delivery_id": 99})
    assert missing.status_code == 404


def test_history_and_types(client):
    client.post(f"{B}/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 3})
    history = client.get(f"{B}/events/history", params={"types": "usage.recorded"}).json()
    assert history["last_sequence"] == 1 and history["items"][0]["type"] == "usage.recorded"
    assert client.get(f"{B}/events/history", params={"after": 1}).json()["items"] == []
    types = {t["type"] for t in client.get(f"{B}/events/types").json()}
    assert {"budget.limit_exceeded", "budget.forecast_exceeds"} <= types and len(types) == 11
    bad = client.get(f"{B}/events/history", params={"types": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "types"


def test_webhooks_need_an_admin_key_and_mcp_any_valid_key(client, svc):
    _, admin = svc.create_api_key("ops", "admin")
    _, agent = svc.create_api_key("agent", "client")
    as_agent = {"Authorization": f"Bearer {agent}"}
    denied = client.post(f"{B}/webhooks", json={"url": "http://x.test/"}, headers=as_agent)
    assert denied.status_code == 403
    assert client.get(f"{B}/events/history", headers=as_agent).status_code == 200
    ok = client.get(f"{B}/webhooks", headers={"Authorization": f"Bearer {admin}"})
    assert ok.status_code == 200
    assert client.post("/mcp", json={}).status_code == 401
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {},
    }
    headers = {**as_agent, "Accept": "application/json, text/event-stream"}
    answer = client.post("/mcp", json=init, headers=headers)
    assert answer.status_code != 401
