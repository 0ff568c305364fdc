"""Registration with a service registry (Tekton's Hermes API), against a small
fake registry on loopback: register, heartbeat, deregister on shutdown; a
registry that is down, slow or erroring is retried and never stops Budget."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from webhook_receiver import refusing_url

from budget.events.types import EVENT_TYPES
from budget.mcp import TOOL_NAMES
from budget.server.registry import RegistryClient
from budget.settings import Settings


class FakeRegistry:
    """Answers like Hermes: ``ok``, ``error`` (500), ``slow`` (hangs), ``forgot`` (404
    on heartbeats, as after a registry restart). Keeps every call."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.calls: list[tuple[str, dict, dict, dict]] = []
        self._release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = (
                    parts.path,
                    json.loads(raw) if raw else {},
                    dict(self.headers.items()),
                    parse_qs(parts.query),
                )
                owner.calls.append(call)
                if owner.mode == "slow":
                    owner._release.wait(10)
                    return
                if owner.mode == "error" or (
                    owner.mode == "forgot" and parts.path.endswith("/heartbeat")
                ):
                    self._answer(500 if owner.mode == "error" else 404, {"detail": "no"})
                    return
                self._answer(200, {"success": True, "component_id": "budget", "token": "tok-1"})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api"

    def __enter__(self) -> FakeRegistry:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [c[0] for c in self.calls]

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, self.paths()
            time.sleep(0.05)


@pytest.fixture
def registry_env(monkeypatch):
    def configure(url: str) -> None:
        monkeypatch.setenv("BUDGET_REGISTRY_URL", url)
        monkeypatch.setenv("BUDGET_REGISTRY_HEARTBEAT_SECONDS", "0.2")
        monkeypatch.setenv("BUDGET_REGISTRY_TIMEOUT_SECONDS", "1")

    return configure


def test_budget_registers_heartbeats_and_deregisters(start_server, registry_env):
    with FakeRegistry() as registry:
        registry_env(registry.url)
        server = start_server()
        registry.wait_for(lambda: registry.paths().count("/api/heartbeat") >= 2)
        path, body, _, _ = registry.calls[0]
        assert path == "/api/register" and body["component_id"] == "budget"
        assert body["name"] == "budget" and body["endpoint"] == server.url
        assert {"token_allocation", "cost_tracking", "mcp", "events"} <= set(body["capabilities"])
        meta = body["metadata"]
        assert meta["port"] == int(server.url.rsplit(":", 1)[1])
        assert meta["mcp_tools"] == list(TOOL_NAMES) and meta["event_types"] == list(EVENT_TYPES)
        assert meta["mcp_endpoint"] == server.url + "/mcp"
        heartbeat = next(c for c in registry.calls if c[0] == "/api/heartbeat")
        assert heartbeat[1]["component_id"] == "budget"
        assert heartbeat[2]["X-Authentication-Token"] == "tok-1"

        server.process.terminate()
        server.process.wait(15)
        path, _, headers, query = registry.calls[-1]
        assert path == "/api/unregister" and query == {"component_id": ["budget"]}
        assert headers["X-Authentication-Token"] == "tok-1"


def test_a_slow_then_erroring_registry_never_stops_budget(start_server, registry_env):
    with FakeRegistry("slow") as registry:
        registry_env(registry.url)
        started = time.monotonic()
        server = start_server()
        assert time.monotonic() - started < 15
        assert httpx.get(server.url + "/api/v1/budgets", timeout=5).status_code == 200
        registry.mode = "error"
        registry.wait_for(lambda: len(registry.calls) >= 2)  # retried after the timeout
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
        registry.mode = "ok"
        registry.wait_for(lambda: "/api/heartbeat" in registry.paths(), timeout=20)


def test_a_registry_that_is_down_is_retried_in_the_background(start_server, registry_env):
    registry_env(refusing_url().removesuffix("/hook"))
    server = start_server()
    assert httpx.get(server.url + "/ready", timeout=5).status_code == 200


def test_a_registry_that_forgot_us_gets_a_new_registration():
    with FakeRegistry("forgot") as registry:
        settings = Settings(
            registry_url=registry.url, registry_heartbeat_seconds=0.05, service_port=9999
        )
        client = RegistryClient(settings)
        client.start()
        try:
            registry.wait_for(lambda: registry.paths().count("/api/register") >= 2)
        finally:
            client.stop()
        assert client.state.registrations >= 2
        assert registry.paths()[-1] == "/api/unregister"
        assert not any(t.name == "budget-registry" for t in threading.enumerate())
