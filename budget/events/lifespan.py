"""What the REST service runs beside its routes: the webhook dispatcher, the
registry client and the MCP session manager, started and stopped with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from budget.engine.housekeeping import Housekeeper
from budget.events.registry import RegistryClient


@asynccontextmanager
async def events_lifespan(app: FastAPI, owned: bool) -> AsyncIterator[None]:
    """Start delivery (for a service the app opened itself, unless
    ``server_delivers_events`` is off), housekeeping (the same), registration
    (with ``registry_url``) and MCP; stop them in reverse order. Closing the
    service stops delivery."""
    from budget.mcp.http import mcp_lifespan

    svc = app.state.service
    settings = svc.settings
    if owned and settings.server_delivers_events:
        svc.start_event_delivery()
    housekeeper = Housekeeper(svc, settings.housekeeping_interval_seconds if owned else 0)
    housekeeper.start()
    app.state.housekeeper = housekeeper
    registry = RegistryClient(settings) if settings.registry_url else None
    app.state.registry = registry
    if registry is not None:
        registry.start()
    try:
        async with mcp_lifespan(app):
            yield
    finally:
        if registry is not None:
            await anyio.to_thread.run_sync(registry.stop)
        await anyio.to_thread.run_sync(housekeeper.stop)
