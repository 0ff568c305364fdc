"""Hostile input over REST, on both backends: no 5xx, problem+json, nothing changed.

Every write endpoint gets, in each of its fields (nested ones and metadata
included), each value of ``_hostile.VALUES``; every read endpoint gets them in
its path and query; a few raw bodies test the JSON parser and content types.
After each rejected request the database is exactly as before, and at the end
every read endpoint still answers 200.
"""

from __future__ import annotations

import json

import _hostile as h  # this folder is on sys.path (pytest prepend mode)
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import budget
from budget.server.app import create_app

V1 = "/api/v1"

WRITES: list[tuple[str, str, dict]] = [
    ("POST", "/budgets", {"name": "b", "description": "d", "owner": "o", "metadata": {"k": "v"}}),
    ("PATCH", "/budgets/{budget_id}", {"name": "b2", "metadata": {"k": "v"}}),
    (
        "POST",
        "/budgets/{budget_id}/policies",
        {
            "type": "warn",
            "period": "daily",
            "token_limit": 1000,
            "cost_limit": "5",
            "name": "p",
            "timezone": "UTC",
            "warning_thresholds": [0.5],
            "starts_at": "2026-01-01T00:00:00Z",
            "project": "alpha",
            "tags": ["t"],
        },
    ),
    ("PATCH", "/policies/{policy_id}", {"token_limit": 2000, "name": "p2"}),
    (
        "POST",
        "/allocations",
        {
            "context_id": "c",
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 10,
            "max_output_tokens": 10,
            "component": "x",
            "metadata": {"k": "v"},
            "ttl_seconds": 60,
            "priority": 5,
        },
    ),
    (
        "POST",
        "/check",
        {"context_id": "c", "provider": "openai", "model": "gpt-4o", "input_tokens": 10},
    ),
    (
        "POST",
        "/usage",
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 10,
            "output_tokens": 5,
            "cached_input_tokens": 0,
            "occurred_at": "2026-11-29T12:00:00Z",
            "request_id": "r",
            "user": "u",
            "latency_ms": 3,
            "metadata": {"k": "v"},
        },
    ),
    ("POST", "/usage", {"allocation_id": "{allocation_id}", "output_tokens": 1}),
    (
        "POST",
        "/usage/batch",
        {
            "items": [
                {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "input_tokens": 1,
                    "occurred_at": "2026-11-29T12:00:00Z",
                    "metadata": {"k": "v"},
                }
            ]
        },
    ),
    ("POST", "/alerts/{alert_id}/acknowledge", {"by": "me"}),
    ("POST", "/estimate", {"provider": "openai", "model": "gpt-4o", "input_tokens": 10}),
    ("POST", "/keys", {"name": "k", "role": "client"}),
    ("PUT", "/prices/override", {"provider": "acme", "model": "m", "input": "1", "output": "2"}),
    (
        "POST",
        "/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["alert.raised"], "description": "d"},
    ),
    ("POST", "/webhooks/{webhook_id}/replay", {"since_sequence": 0}),
    ("POST", "/route", {"preferred_model": "gpt-4o", "provider": "openai", "input_tokens": 10}),
]

READS = [
    "/budgets",
    "/budgets/{budget_id}",
    "/budgets/{budget_id}/summary",
    "/budgets/{budget_id}/policies",
    "/policies",
    "/policies/{policy_id}",
    "/allocations",
    "/allocations/{allocation_id}",
    "/usage",
    "/usage/totals",
    "/alerts",
    "/keys",
    "/prices?limit=5",
    "/events/history",
    "/webhooks",
    "/reports/usage?since=2026-11-01T00:00:00Z&until=2026-12-31T00:00:00Z",
    "/reports/top?since=2026-11-01T00:00:00Z&until=2026-12-31T00:00:00Z",
    "/forecast",
    "/analysis?since=2026-11-01T00:00:00Z&until=2026-12-31T00:00:00Z",
]

#: Query parameters with their read endpoint, and hostile texts for them (URL-encoded).
QUERIES = [
    ("/budgets", "owner"),
    ("/allocations", "context_id"),
    ("/usage", "since"),
    ("/usage", "model"),
    ("/usage", "allocation_id"),
    ("/usage", "limit"),
    ("/usage/totals", "until"),
    ("/alerts", "budget_id"),
    ("/prices", "search"),
    ("/prices/current", "at"),
    ("/reports/usage", "since"),
    ("/reports/usage", "timezone"),
    ("/reports/top", "n"),
    ("/events/history", "after"),
    ("/recommendations", "model"),
    ("/forecast", "budget_id"),
]
QUERY_VALUES = [
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%FF%FE",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31",
    "1e400",
    "NaN",
    "-1",
    str(2**64),
    "x" * 5000,
]
PATH_VALUES = ["%00", "a%00b", "%ED%A0%80", "%FF", "x" * 2000, "..%2F..", "9" * 30]


@pytest.fixture
def svc(db_url):
    """A service whose webhooks may target loopback (the world registers one there)."""
    service = budget.open(db_url, pool_size=5, webhook_allow_private=True)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def world(svc, db_url):
    """A service with one of everything the endpoints' paths name."""
    team = svc.create_budget(name="team")
    policy = svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", token_limit=10**9, cost_limit=1000
    )
    allocation = svc.allocate(
        context_id="ctx", provider="openai", model="gpt-4o", input_tokens=10, max_output_tokens=10
    )
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=50, output_tokens=5)
    alert = svc.list_alerts()[0]
    _, secret = svc.create_api_key("fuzz-admin", role="admin")
    app = create_app(svc)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        hook = client.post(f"{V1}/webhooks", json={"url": "http://127.0.0.1:9/h"}).json()
        ids = {
            "budget_id": team.budget_id,
            "policy_id": policy.policy_id,
            "allocation_id": allocation.allocation_id,
            "alert_id": alert.alert_id,
            "webhook_id": hook["webhook_id"],
        }
        snapshot = h.Snapshot(db_url)
        try:
            yield client, ids, snapshot
        finally:
            snapshot.close()


def check(response, before, snapshot) -> str | None:
    """What is wrong with one answer to a hostile request (None: nothing)."""
    status = response.status_code
    if status >= 500:
        return f"{status} {response.text[:200]}"
    if status >= 400:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return f"{status} is not problem+json: {response.headers.get('content-type')}"
        body = response.json()
        if body.get("status") != status or not body.get("detail"):
            return f"{status} problem body incomplete: {body}"
        if before is not None:
            before = dict(before)
            after = snapshot.take(upto=before.pop("last_window"))
            if body.get("type") in h.REFUSALS:
                after, before = h.Snapshot.data(after), h.Snapshot.data(before)
            if after != before:
                changed = sorted(k for k in after if after[k] != before[k])
                return f"{status} but the database changed: {changed}"
    return None


def send(client, method, path, body: bytes, content_type="application/json"):
    headers = {**client.headers, "content-type": content_type}
    return client.request(method, V1 + path, content=body, headers=headers)


def sweep_writes(client, ids, snapshot) -> list[str]:
    failures = []
    for method, template, base in WRITES:
        path = template.format(**ids)
        base = json.loads(json.dumps(base).replace("{allocation_id}", ids["allocation_id"]))
        for field in h.fields(base):
            for value in h.VALUES:
                before = snapshot.take()
                response = send(client, method, path, h.body_with(base, field, value).encode())
                problem = check(response, before, snapshot)
                if problem:
                    failures.append(
                        f"{method} {template} {'.'.join(field)}={value[:30]}: {problem}"
                    )
    return failures


def test_hostile_values_in_every_write_field(world):
    client, ids, snapshot = world
    failures = sweep_writes(client, ids, snapshot)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
    assert_reads_answer(client, ids)


def test_hostile_raw_bodies_and_content_types(world):
    client, ids, snapshot = world
    failures = []
    for method, template, _ in WRITES:
        for body, content_type in h.RAW_BODIES:
            before = snapshot.take()
            response = send(client, method, template.format(**ids), body, content_type)
            problem = check(response, before, snapshot)
            if problem is None and response.status_code < 400:
                problem = f"{response.status_code}: accepted"
            if problem:
                failures.append(f"{method} {template} {body[:30]!r} {content_type}: {problem}")
    assert not failures, "\n".join(failures[:60])
    wrong_type = send(client, "POST", "/budgets", b'{"name": "t"}', "text/plain")
    assert wrong_type.status_code == 415, wrong_type.text
    assert_reads_answer(client, ids)


def test_hostile_paths_and_queries(world):
    client, ids, snapshot = world
    failures = []
    for path, name in QUERIES:
        for value in QUERY_VALUES:
            response = client.get(f"{V1}{path}?{name}={value}")
            problem = check(response, None, snapshot)
            if problem:
                failures.append(f"GET {path}?{name}={value[:20]}: {problem}")
    for template in READS:
        if "{" not in template:
            continue
        for value in PATH_VALUES:
            path = template.format(**{k: value for k in ids})
            response = client.get(V1 + path)
            problem = check(response, None, snapshot)
            if problem:
                failures.append(f"GET {template} <- {value[:20]}: {problem}")
    assert not failures, "\n".join(failures[:60])
    assert_reads_answer(client, ids)


TOKENS = st.sampled_from(h.VALUES) | st.builds(
    json.dumps,
    st.one_of(
        st.text(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    ),
    allow_nan=st.just(True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_values_never_break_the_api(world, data):
    client, ids, snapshot = world
    method, template, base = data.draw(st.sampled_from(WRITES), label="endpoint")
    base = json.loads(json.dumps(base).replace("{allocation_id}", ids["allocation_id"]))
    field = data.draw(st.sampled_from(h.fields(base)), label="field")
    value = data.draw(TOKENS, label="value")
    before = snapshot.take()
    response = send(
        client, method, template.format(**ids), h.body_with(base, field, value).encode()
    )
    assert check(response, before, snapshot) is None, response.text[:300]
    for read in ("/budgets", "/allocations", "/usage", "/alerts"):
        assert client.get(V1 + read).status_code == 200


def assert_reads_answer(client, ids) -> None:
    for template in READS:
        response = client.get(V1 + template.format(**ids))
        assert response.status_code == 200, f"{template}: {response.status_code} {response.text}"


def test_rows_an_older_version_stored_badly_still_read(world, db_url):
    """Metadata with a lone surrogate or NaN, written before these checks existed,
    is shown with U+FFFD and null instead of failing every read."""
    from sqlalchemy import create_engine, text

    client, ids, _ = world
    # PostgreSQL's json type refuses NaN; SQLite stores whatever text it is given
    poison = '{"k": "a\\ud800", "n": NaN}' if db_url.startswith("sqlite") else '{"k": "a\\ud800"}'
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for table, key in (("budgets", "budget_id"), ("allocations", "allocation_id")):
            conn.execute(
                text(f"UPDATE {table} SET metadata = :m WHERE id = :id"),
                {"m": poison, "id": ids[key]},
            )
        conn.execute(text("UPDATE usage_records SET metadata = :m"), {"m": poison})
    engine.dispose()
    for path in ("/budgets", f"/budgets/{ids['budget_id']}", "/allocations", "/usage"):
        response = client.get(V1 + path)
        assert response.status_code == 200, (path, response.text)
        assert "a\ufffd" in response.text or "a\\ufffd" in response.text, path
    assert_reads_answer(client, ids)
