"""Events through a real ``budget serve``: webhooks to real receivers on loopback
(each kind exactly once, signed by the Standard Webhooks scheme and the
deprecated header; a failing receiver retried, dead, replayed; pending
deliveries survive a restart), the SSE stream resuming from Last-Event-ID
without loss, and the ``budget webhooks`` commands on both backends."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook
from webhook_receiver import Receiver

from budget.events import types as ev
from budget.webhooks.signing import verify_signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
FAST_ENV = {
    "BUDGET_EVENT_DISPATCH_INTERVAL_SECONDS": "0.05",
    "BUDGET_EVENT_STREAM_POLL_SECONDS": "0.05",
    "BUDGET_WEBHOOK_BACKOFF_SECONDS": "0.05",
    "BUDGET_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2",
    "BUDGET_WEBHOOK_MAX_ATTEMPTS": "3",
    "BUDGET_WEBHOOK_TIMEOUT_SECONDS": "2",
    "BUDGET_WEBHOOK_ALLOW_PRIVATE": "true",  # the receivers listen on loopback
}


@pytest.fixture
def fast_events(monkeypatch):
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)


class PriceFeeds:
    """The recorded price-source fixtures, served on loopback."""

    ROUTES = {
        "/litellm.json": "litellm.json",
        "/current-v1.json": "llm_prices_current.json",
        "/models": "openrouter_models.json",
        "/pricing": "pricing_page.html",
    }

    def __enter__(self) -> PriceFeeds:
        routes = {path: (FIXTURES / name).read_bytes() for path, name in self.ROUTES.items()}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = routes.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sources(self) -> str:
        base = f"http://127.0.0.1:{self.server.server_port}"
        return json.dumps(
            {
                "genai-prices": {"active": False},
                "litellm-offline": {"active": False},
                "litellm": {"url": f"{base}/litellm.json"},
                "llm-prices": {"url": f"{base}/current-v1.json"},
                "openrouter": {"url": f"{base}/models"},
                "vendor-page": {
                    "kind": "html",
                    "url": f"{base}/pricing",
                    "trust": "0.4",
                    "options": {"provider": "openai"},
                },
            }
        )


def api(server) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", timeout=30)


def spend_every_way(c: httpx.Client) -> None:
    """One of each kind of event through the REST API."""
    budget_id = c.post("/budgets", json={"name": "team"}).json()["budget_id"]
    policy = {"type": "hard_limit", "period": "daily", "token_limit": 1000}
    c.post(f"/budgets/{budget_id}/policies", json={**policy, "warning_thresholds": ["0.5"]})
    alloc = {"context_id": "c", "provider": "openai", "model": "gpt-4o"}
    a = c.post("/allocations", json={**alloc, "tokens": 100}).json()
    c.post("/usage", json={"allocation_id": a["allocation_id"], "input_tokens": 600})
    c.post(f"/allocations/{a['allocation_id']}/release")
    c.post("/allocations", json={**alloc, "tokens": 1, "ttl_seconds": 1})
    assert c.post("/allocations", json={**alloc, "tokens": 900}).status_code == 429
    c.post("/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 399})
    odd = c.post("/usage", json={"provider": "acme", "model": "unknown-model", "input_tokens": 1})
    c.post(f"/usage/{odd.json()['usage_id']}/void", json={"reason": "test traffic"})
    override = {"provider": "acme", "model": "unknown-model", "input": "1", "output": "2"}
    assert c.put("/prices/override", json=override).status_code == 200
    assert c.post("/prices/update", json={}).status_code == 200
    time.sleep(1.1)
    assert c.post("/allocations/sweep").json()["expired"] == 1
    forecast_alert(c)


def mid_morning_zone() -> str:
    """A fixed-offset time zone where it is now about half past ten, so a daily
    window is far enough along for a forecast whatever the time in UTC."""
    now = time.gmtime()
    offset = round((10.5 - (now.tm_hour + now.tm_min / 60)) % 24)
    offset = offset - 24 if offset >= 12 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def forecast_alert(c: httpx.Client) -> None:
    """Spend 60 % of a window's tokens by mid-morning: the forecast passes the limit."""
    budget_id = c.post("/budgets", json={"name": "forecast"}).json()["budget_id"]
    policy = {"type": "warn", "period": "daily", "token_limit": 10_000}
    c.post(f"/budgets/{budget_id}/policies", json={**policy, "timezone": mid_morning_zone()})
    c.post("/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 6000})
    (forecast,) = c.get("/forecast", params={"budget_id": budget_id}).json()
    assert forecast["alert_raised"], forecast


def test_a_receiver_gets_each_kind_exactly_once_signed(start_server, fast_events, monkeypatch):
    with PriceFeeds() as feeds, Receiver() as receiver:
        monkeypatch.setenv("BUDGET_PRICE_SOURCES", feeds.sources())
        server = start_server()
        with api(server) as c:
            created = c.post("/webhooks", json={"url": receiver.url}).json()
            spend_every_way(c)
            total = c.get("/events/history", params={"limit": 1000}).json()["items"]
        got = receiver.wait_for(len(total), timeout=30)
        time.sleep(0.5)  # nothing more arrives
        assert len(receiver.received) == len(total)
        ids = Counter(r.event["id"] for r in got)
        assert set(ids.values()) == {1} and set(ids) == {e["id"] for e in total}
        assert {r.event["type"] for r in got} == set(ev.EVENT_TYPES)
        for r in got:
            assert Webhook(created["secret"]).verify(r.body, r.headers) == r.event
            assert verify_signature(created["secret"], r.body, r.headers["Budget-Signature"])
            assert r.headers["Budget-Event-Type"] == r.event["type"]


def test_a_failing_receiver_is_retried_then_dead_then_replayed(start_server, fast_events):
    with Receiver("fail") as receiver:
        server = start_server()
        with api(server) as c:
            hook = c.post("/webhooks", json={"url": receiver.url}).json()["webhook_id"]
            c.post("/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 5})
            deliveries = f"/webhooks/{hook}/deliveries"
            deadline = time.monotonic() + 20
            while c.get(deliveries, params={"status": "dead"}).json()["total"] == 0:
                assert time.monotonic() < deadline, c.get(deliveries).json()
                time.sleep(0.1)
            [dead] = c.get(deliveries).json()["items"]
            assert dead["attempts"] == 3 and receiver.attempts == 3
            assert dead["last_status_code"] == 500 and dead["status"] == "dead"

            receiver.mode = "ok"
            assert c.post(f"/webhooks/{hook}/replay", json={}).json() == {"replayed": 1}
            [delivered] = receiver.wait_for(1)
            assert delivered.event["id"] == dead["event_id"]
            assert c.get(deliveries).json()["items"][0]["status"] == "delivered"


def test_a_restart_delivers_what_was_pending(start_server, fast_events, monkeypatch):
    monkeypatch.setenv("BUDGET_WEBHOOK_MAX_ATTEMPTS", "100")
    with Receiver("fail") as receiver:
        first = start_server()
        with api(first) as c:
            c.post("/webhooks", json={"url": receiver.url})
            for i in range(5):
                c.post("/usage", json={"provider": "openai", "model": "gpt-4o", "input_tokens": i})
        deadline = time.monotonic() + 10
        while receiver.attempts == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.process.terminate()
        first.process.wait(15)
        receiver.mode = "ok"
        second = start_server(first.database_url)
        got = receiver.wait_for(5, timeout=30)
        time.sleep(0.5)
        assert len(receiver.received) == 5
        assert sorted(r.event["sequence"] for r in got) == [1, 2, 3, 4, 5]
        with api(second) as c:
            assert c.get("/events/history").json()["last_sequence"] == 5


def read_sse(response, count: int) -> list[dict]:
    """The first ``count`` events of an open SSE response."""
    events, current = [], {}
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
            continue
        key, _, value = line.partition(":")
        current[key] = value.strip()
    raise AssertionError(f"stream ended after {len(events)} events")


def test_the_stream_resumes_from_last_event_id_without_loss(start_server, fast_events):
    server = start_server()
    usage = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1}
    with api(server) as c, httpx.Client(timeout=30) as sse:
        url = server.url + "/api/v1/events"
        for i in range(3):
            c.post("/usage", json={**usage, "request_id": f"a{i}"})
        with sse.stream("GET", url, params={"after": 0}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = read_sse(response, 2)
        for i in range(4):
            c.post("/usage", json={**usage, "request_id": f"b{i}"})
        headers = {"Last-Event-ID": first[-1]["id"]}
        with sse.stream("GET", url, headers=headers) as response:
            rest = read_sse(response, 5)
        seen = [int(e["id"]) for e in first + rest]
        assert seen == list(range(1, 8))
        assert all(e["event"] == ev.USAGE_RECORDED for e in first + rest)
        assert json.loads(rest[0]["data"])["sequence"] == 3
        bad = sse.get(url, headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]
        filtered = sse.get(url, params={"types": "no.such"})
        assert filtered.status_code == 422


def test_a_forecast_alert_reaches_the_stream(start_server, fast_events):
    server = start_server()
    with api(server) as c, httpx.Client(timeout=30) as sse:
        forecast_alert(c)
        params = {"after": 0, "types": ev.FORECAST_EXCEEDS}
        with sse.stream("GET", server.url + "/api/v1/events", params=params) as response:
            (got,) = read_sse(response, 1)
    assert got["event"] == ev.FORECAST_EXCEEDS
    data = json.loads(got["data"])["data"]
    assert data["limit_kind"] == "tokens" and data["limit"] == "10000" and data["used"] == "6000"
    assert int(data["projected"]) > 10_000


def test_the_webhooks_commands_work_locally_and_remotely(
    start_server, invoke_cli, cli_db, fast_events
):
    server = start_server()
    for where in ({"BUDGET_URL": server.url}, {"BUDGET_DATABASE_URL": cli_db}):
        added = invoke_cli(
            ["webhooks", "add", "http://127.0.0.1:9/x", "--event", ev.USAGE_RECORDED, "--json"],
            where,
        )
        assert added.code == 0 and added.json["secret"].startswith("whsec_"), added.stderr
        hook = added.json["webhook_id"]
        listed = invoke_cli(["webhooks", "list", "--json"], where).json
        assert [h["webhook_id"] for h in listed] == [hook]
        page = invoke_cli(["webhooks", "deliveries", hook, "--status", "dead", "--json"], where)
        assert page.json["total"] == 0
        replayed = invoke_cli(["webhooks", "replay", hook, "--json"], where)
        assert replayed.json == {"replayed": 0}
        shown = invoke_cli(["webhooks", "show", hook, "--json"], where).json
        assert shown["kind"] == "generic" and shown["active"] and "secret" not in shown
        updated = invoke_cli(
            ["webhooks", "update", hook, "--all-events", "--kind", "slack", "--json"], where
        ).json
        assert (updated["event_types"], updated["kind"]) == ([], "slack")
        updated = invoke_cli(
            ["webhooks", "update", hook, "--description", "ops", "--json"], where
        ).json
        assert (updated["description"], updated["kind"]) == ("ops", "slack")
        moved = ["webhooks", "update", hook, "--target-url", "http://127.0.0.1:10/y", "--json"]
        assert invoke_cli(moved, where).json["url"] == "http://127.0.0.1:10/y"
        assert invoke_cli(["webhooks", "pause", hook, "--json"], where).json["active"] is False
        assert invoke_cli(["webhooks", "show", hook, "--json"], where).json["active"] is False
        assert invoke_cli(["webhooks", "resume", hook, "--json"], where).json["active"] is True
        rotated = invoke_cli(
            ["webhooks", "rotate-secret", hook, "--overlap-seconds", "600", "--json"], where
        )
        assert rotated.code == 0, rotated.stderr
        assert rotated.json["secret"].startswith("whsec_")
        assert rotated.json["secret"] != added.json["secret"]
        assert rotated.json["previous_secret_expires_at"] is not None
        text = invoke_cli(["webhooks", "rotate-secret", hook], where)
        assert "signing secret (shown once): whsec_" in text.stdout
        bad = invoke_cli(["webhooks", "update", hook, "--kind", "teams"], where)
        assert bad.code == 2 and "kind" in bad.stderr
        assert invoke_cli(["webhooks", "remove", hook], where).code == 0
        gone = invoke_cli(["webhooks", "remove", hook], where)
        assert gone.code == 2 and "webhook_id" in gone.stderr


def test_private_targets_are_refused_on_both_backends(
    start_server, invoke_cli, cli_db, monkeypatch
):
    monkeypatch.delenv("BUDGET_WEBHOOK_ALLOW_PRIVATE", raising=False)
    server = start_server()
    for where in ({"BUDGET_URL": server.url}, {"BUDGET_DATABASE_URL": cli_db}):
        for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "http://169.254.169.254/"):
            refused = invoke_cli(["webhooks", "add", url], where)
            assert refused.code == 2, refused.stdout
            assert "url" in refused.stderr and url in refused.stderr
        assert invoke_cli(["webhooks", "list", "--json"], where).json == []
