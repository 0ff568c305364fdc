"""The MCP server with the SDK's own client, over stdio (``budget mcp``) and over
streamable HTTP at /mcp of a real ``budget serve`` behind API keys: list the
tools, call each one, read the resources, and get a denial as a tool error."""

from __future__ import annotations

import json
import sys

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import budget
from budget.mcp import TOOL_NAMES


def prepare(database_url: str) -> str:
    """A budget with a hard daily limit of 5000 tokens and some usage."""
    svc = budget.open(database_url)
    try:
        b = svc.create_budget("agents")
        svc.add_policy(b.budget_id, type="hard_limit", period="daily", token_limit=5000)
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=100, output_tokens=50)
        return b.budget_id
    finally:
        svc.close()


def data(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


async def exercise(client: Client, budget_id: str) -> None:
    """List the tools, call each, read the resources, and check a denial."""
    listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == list(TOOL_NAMES)
    for t in listed:
        assert t.description and len(t.description) > 40 and t.input_schema["type"] == "object"
    allocate = next(t for t in listed if t.name == "allocate_tokens")
    assert allocate.input_schema["required"] == ["context_id"]
    assert "priority" in allocate.input_schema["properties"]

    call = client.call_tool
    common = {"provider": "openai", "model": "gpt-4o"}
    check = data(await call("check_budget", {**common, "tokens": 1000}))
    assert check["allowed"] is True
    a = data(await call("allocate_tokens", {"context_id": "agent-1", **common, "tokens": 1000}))
    assert a["status"] == "active" and a["tokens_reserved"] == 1000
    used = {"allocation_id": a["allocation_id"], "input_tokens": 300, "output_tokens": 100}
    u = data(await call("record_usage", used))
    assert u["total_tokens"] == 400 and u["allocation_id"] == a["allocation_id"]
    released = data(await call("release_allocation", {"allocation_id": a["allocation_id"]}))
    assert released["status"] == "released"
    status = data(await call("get_budget_status", {"budget": "agents"}))
    assert status["budget"]["budget_id"] == budget_id
    assert status["windows"][0]["tokens_used"] == 550
    estimate = data(await call("estimate_cost", {**common, "input_tokens": 1_000_000}))
    assert estimate["priced"] is True and estimate["cost"]
    recommended = data(await call("recommend_model", {"model": "gpt-4o", "provider": "openai"}))
    assert "items" in recommended
    facts = data(await call("model_facts", common))
    assert facts["mode"] == "chat" and facts["context_window"] == 128_000
    routed = data(
        await call(
            "route_request",
            {"preferred_model": "gpt-4o", "provider": "openai", "input_tokens": 100},
        )
    )
    assert routed["allowed"] is True and routed["model"] == "gpt-4o"
    report = data(
        await call(
            "usage_analytics",
            {"since": "2000-01-01", "until": "2100-01-01", "group_by": ["model"]},
        )
    )
    assert report["rows"][0]["group"] == {"provider": "openai", "model": "gpt-4o"}

    denied = await call("allocate_tokens", {"context_id": "agent-2", **common, "tokens": 9000})
    assert denied.is_error
    message = denied.content[0].text
    assert message.startswith("budget exceeded: policy") and "limit 5000" in message
    assert denied.structured_content["error"]["code"] == "budget_exceeded"
    alerts = data(await call("list_alerts", {"budget": budget_id, "kind": "denied"}))
    assert alerts["total"] == 1
    bad = await call("get_budget_status", {"budget": "nobody"})
    assert bad.is_error and bad.content[0].text == "no budget with id or name='nobody'"
    for hostile, field in (
        ({"user": "a\x00b"}, "user"),
        ({"input_tokens": 10**13}, "input_tokens"),
        ({"component": "c" * 201}, "component"),
    ):
        # out of the tool's declared range: the SDK's argument check names the field;
        # in range but not storable: Budget's own check does, as "field=value: reason"
        refused = await call("record_usage", {**common, "output_tokens": 1, **hostile})
        assert refused.is_error, hostile
        assert field in refused.content[0].text, refused.content[0].text

    resources = {str(r.uri) for r in (await client.list_resources()).resources}
    assert resources == {"budget://budgets", "budget://prices"}
    one = await client.read_resource(f"budget://budgets/{budget_id}/status")
    assert json.loads(one.contents[0].text)["budget"]["name"] == "agents"
    catalog = json.loads((await client.read_resource("budget://prices")).contents[0].text)
    assert any(p["model"] == "gpt-4o" for p in catalog)


def test_mcp_over_stdio(cli_db):
    budget_id = prepare(cli_db)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "budget", "mcp", "--database-url", cli_db]
    )

    async def main() -> None:
        async with Client(params) as client:
            await exercise(client, budget_id)

    anyio.run(main)


@pytest.fixture
def keyed_server(start_server, cli_db):
    """A server on a prepared database that requires API keys."""
    budget_id = prepare(cli_db)
    svc = budget.open(cli_db)
    try:
        _, secret = svc.create_api_key("agent", "client")
    finally:
        svc.close()
    return start_server(cli_db), secret, budget_id


def test_mcp_over_streamable_http_behind_the_api_keys(keyed_server):
    server, secret, budget_id = keyed_server
    refused = httpx.post(server.url + "/mcp", json={}, headers={"Accept": "application/json"})
    assert refused.status_code == 401 and "API key" in refused.json()["detail"]
    wrong = httpx.post(server.url + "/mcp", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    async def main() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        async with http, Client(streamable_http_client(server.url + "/mcp", http_client=http)) as c:
            await exercise(c, budget_id)

    anyio.run(main)


def test_two_client_keys_over_mcp_cannot_spend_against_each_others_limits(start_server, cli_db):
    svc = budget.open(cli_db)
    try:
        for team, user in (("team-a", "alice"), ("team-b", "bob")):
            b = svc.create_budget(team)
            svc.add_policy(b.budget_id, type="hard_limit", period="daily", token_limit=100,
                           user=user)  # fmt: skip
        _, alice = svc.create_api_key("alice-agent", user="alice", budgets=["team-a"])
        _, bob = svc.create_api_key("bob-agent", user="bob", budgets=["team-b"])
    finally:
        svc.close()
    server = start_server(cli_db)
    call = {"context_id": "c", "tokens": 60}

    async def as_key(secret: str, steps):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        async with http, Client(streamable_http_client(server.url + "/mcp", http_client=http)) as c:
            return await steps(c)

    async def alice_steps(c):
        claimed = await c.call_tool("allocate_tokens", {**call, "user": "bob"})
        assert claimed.is_error and claimed.content[0].text.startswith("user='bob'")
        granted = data(await c.call_tool("allocate_tokens", call))
        assert granted["attributes"]["user"] == "alice"
        assert granted["attributes"]["api_key"] == "alice-agent"
        second = await c.call_tool("allocate_tokens", call)  # alice's 100 hold 60
        assert second.is_error and "budget exceeded" in second.content[0].text
        hidden = await c.call_tool("get_budget_status", {"budget": "team-b"})
        assert hidden.is_error and "no budget" in hidden.content[0].text
        assert not (await c.call_tool("get_budget_status", {"budget": "team-a"})).is_error

    async def bob_steps(c):
        granted = data(await c.call_tool("allocate_tokens", call))  # bob's limit is his own
        assert granted["attributes"]["user"] == "bob"
        alerts = data(await c.call_tool("list_alerts", {}))
        assert alerts["total"] == 0  # alice's denial belongs to team-a

    anyio.run(as_key, alice, alice_steps)
    anyio.run(as_key, bob, bob_steps)
