"""The served app's lifespan: the service, and what runs beside the routes.

A served app either is handed a service (tests, embedding) or opens its own
from settings at startup and closes it at shutdown. For a service it opened
itself, it also starts webhook delivery (unless ``server_delivers_events`` is
off) and housekeeping; with ``registry_url`` it registers with the service
registry; and it runs the MCP session manager. They stop in reverse order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from budget.api.app import Lifespan
from budget.bootstrap import open as open_budget
from budget.server.housekeeping import housekeeping
from budget.server.registry import registered
from budget.settings import Settings


def lifespan_for(settings: Settings | None) -> Lifespan:
    """The lifespan of an app over ``app.state.service``, or over a service
    opened from ``settings`` (default: the environment) when it has none."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "service", None) is None:
            owned = open_budget(settings=settings or Settings())
            app.state.service = owned
        try:
            async with running_beside(app, owned is not None):
                yield
        finally:
            if owned is not None:
                owned.close()

    return lifespan


@asynccontextmanager
async def running_beside(app: FastAPI, owned: bool) -> AsyncIterator[None]:
    """Delivery and housekeeping (for an ``owned`` service), registration and
    MCP, for as long as the app runs. Closing the service stops delivery."""
    from budget.mcp.http import mcp_lifespan  # the MCP SDK loads only for a served app

    service = app.state.service
    settings = service.settings
    if owned and settings.server_delivers_events:
        service.start_event_delivery()
    async with (
        housekeeping(service, owned),
        registered(app, settings),
        mcp_lifespan(app),
    ):
        yield
