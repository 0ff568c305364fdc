"""The MCP server over streamable HTTP, mounted in the FastAPI app at ``/mcp``.

Stateless (every request stands alone, so any worker or replica can answer)
with JSON responses. The same API keys as the REST API apply: a server with
keys refuses a request without a valid one (401, problem+json). On a loopback
bind the SDK's DNS-rebinding protection only accepts loopback Host headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from budget.api import problems
from budget.api.deps import get_caller
from budget.api.loopback import is_loopback
from budget.mcp import identity

if TYPE_CHECKING:  # the MCP SDK loads when the server starts, not with the app
    from mcp.server.transport_security import TransportSecuritySettings

PATH = "/mcp"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def _security(host: str) -> TransportSecuritySettings:
    from mcp.server.transport_security import TransportSecuritySettings

    if is_loopback(host):
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=LOOPBACK_HOSTS,
            allowed_origins=LOOPBACK_ORIGINS,
        )
    # Beyond loopback the server requires API keys (see check_bind), so a rebound
    # browser request has no key to send.
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


@asynccontextmanager
async def mcp_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the MCP session manager for as long as the app runs."""
    from budget.mcp.server import build_server

    service = app.state.service
    server = build_server(lambda: app.state.service)
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=_security(service.settings.service_host),
    )
    manager = server.session_manager
    async with manager.run():
        app.state.mcp_manager = manager
        try:
            yield
        finally:
            app.state.mcp_manager = None


class McpEndpoint:
    """The ASGI endpoint at /mcp: authenticate like the REST API, then hand over."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        manager = getattr(request.app.state, "mcp_manager", None)
        if manager is None:
            response = problems.problem(503, "Unavailable", "the MCP server is not running", "mcp")
            await response(scope, receive, send)
            return
        svc = request.app.state.service
        try:
            caller = await anyio.to_thread.run_sync(get_caller, request, svc)
        except HTTPException as exc:
            response = problems.http_error(request, exc)
            await response(scope, receive, send)
            return
        token = identity.current_key.set(caller.key)
        try:
            await manager.handle_request(scope, receive, send)
        finally:
            identity.current_key.reset(token)


def mount(app: FastAPI) -> None:
    """Add the /mcp route to ``app`` (its lifespan must enter :func:`mcp_lifespan`)."""
    from starlette.routing import Route

    app.router.routes.append(Route(PATH, endpoint=McpEndpoint(), include_in_schema=False))
