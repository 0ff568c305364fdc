"""Registration with a service registry (Tekton's Hermes), when one is configured.

With ``BUDGET_REGISTRY_URL`` (e.g. ``http://127.0.0.1:8001/api``) the server
registers the component ``budget`` (``POST {url}/register``) with its
capabilities, endpoint and port, MCP tools and event types, then sends a
heartbeat every ``registry_heartbeat_seconds`` (``POST {url}/heartbeat`` with
the token the registry gave) and deregisters on shutdown
(``POST {url}/unregister``). All of it happens on a background thread with a
timeout per call: a registry that is down, slow or answering errors is
retried with backoff and never delays starting or serving. A heartbeat the
registry refuses (it forgot us, e.g. after a restart) registers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from fastapi import FastAPI

from budget.domain import redact
from budget.events.types import EVENT_TYPES
from budget.mcp import TOOL_NAMES
from budget.settings import Settings
from budget.webhooks.backoff import backoff_seconds

log = logging.getLogger("budget.registry")
VERSION = "0.1.0"
CAPABILITIES = (
    "token_allocation",
    "cost_tracking",
    "budget_enforcement",
    "price_catalog",
    "usage_analytics",
    "model_recommendation",
    "mcp",
    "events",
    "webhooks",
)


@dataclass
class RegistryState:
    """What the client knows: registered or not, the token, the last error."""

    registered: bool = False
    component_id: str | None = None
    token: str | None = None
    registrations: int = 0
    heartbeats: int = 0
    last_error: str | None = None
    history: list[str] = field(default_factory=list)


def registration(settings: Settings) -> dict[str, Any]:
    """The body of ``POST /register``."""
    base = (
        settings.advertised_url or f"http://{settings.service_host}:{settings.service_port}"
    ).rstrip("/")
    return {
        "component_id": settings.registry_component,
        "name": settings.registry_component,
        "version": VERSION,
        "type": "budget",
        "endpoint": base,
        "capabilities": list(CAPABILITIES),
        "metadata": {
            "description": "LLM token-and-cost budgets: allocate, record, limits, prices",
            "host": settings.service_host,
            "port": settings.service_port,
            "api": f"{base}/api/v1",
            "health": f"{base}/health",
            "mcp_endpoint": f"{base}/mcp",
            "mcp_tools": list(TOOL_NAMES),
            "events_endpoint": f"{base}/api/v1/events",
            "event_types": list(EVENT_TYPES),
        },
    }


class RegistryClient:
    """Registers, keeps the heartbeat and deregisters, on its own thread."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        if not settings.registry_url:
            raise ValueError("registry_url is not set")
        self.url = settings.registry_url.rstrip("/")
        self.body = registration(settings)
        self.component_id: str = self.body["component_id"]
        self.heartbeat_every = settings.registry_heartbeat_seconds
        self.retry_cap = min(60.0, settings.registry_heartbeat_seconds)
        self._http = http or httpx.Client(timeout=settings.registry_timeout_seconds)
        self.state = RegistryState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start registering in the background (returns at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="budget-registry", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, then deregister (best effort, one try)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self.state.registered:
            self._deregister()
        self._http.close()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            ok = self._heartbeat() if self.state.registered else self._register()
            failures = 0 if ok else failures + 1
            wait = self.heartbeat_every if ok else backoff_seconds(failures, 1.0, self.retry_cap)
            self._stop.wait(wait)

    def _post(self, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = self._http.post(f"{self.url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            self._fail(f"{path}: {type(exc).__name__}: {exc}")
            return None
        if response.status_code >= 400:
            self._fail(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        return response

    def _fail(self, message: str) -> None:
        if message != self.state.last_error:
            log.warning("service registry at %s: %s (retrying)", redact.url(self.url), message)
        self.state.last_error = message

    def _register(self) -> bool:
        response = self._post("/register", json=self.body)
        if response is None or response.status_code >= 400:
            return False
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        self.state.component_id = answer.get("component_id") or self.component_id
        self.state.token = answer.get("token")
        self.state.registered = True
        self.state.registrations += 1
        self.state.last_error = None
        self.state.history.append("register")
        log.info("registered with the service registry at %s", redact.url(self.url))
        return True

    def _headers(self) -> dict[str, str]:
        return {"X-Authentication-Token": self.state.token} if self.state.token else {}

    def _heartbeat(self) -> bool:
        body = {"component_id": self.state.component_id, "status": {"health": "healthy"}}
        response = self._post("/heartbeat", json=body, headers=self._headers())
        if response is None:
            return False
        if response.status_code in (401, 403, 404):
            self.state.registered = False  # the registry forgot us: register again
            return self._register()
        if response.status_code >= 400:
            return False
        self.state.heartbeats += 1
        self.state.history.append("heartbeat")
        return True

    def _deregister(self) -> None:
        params = {"component_id": self.state.component_id}
        response = self._post("/unregister", params=params, headers=self._headers())
        if response is not None and response.status_code < 400:
            self.state.registered = False
            self.state.history.append("unregister")


@asynccontextmanager
async def registered(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Keep the server registered while the app runs (only with ``registry_url``);
    the client is ``app.state.registry``."""
    client = RegistryClient(settings) if settings.registry_url else None
    app.state.registry = client
    if client is not None:
        client.start()
    try:
        yield
    finally:
        if client is not None:
            await anyio.to_thread.run_sync(client.stop)
