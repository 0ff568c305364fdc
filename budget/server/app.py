"""The served app: the REST API, the MCP server at /mcp and the dashboard at /,
with the lifespan that runs the service and what runs beside it."""

from __future__ import annotations

from fastapi import FastAPI

from budget import web
from budget.api.app import create_api
from budget.engine.service import BudgetService
from budget.server.lifespan import lifespan_for
from budget.settings import Settings


def create_app(service: BudgetService | None = None, settings: Settings | None = None) -> FastAPI:
    """The app over ``service``, or over a service opened from ``settings`` at
    startup (default: the environment) and closed at shutdown."""
    app = create_api(lifespan=lifespan_for(settings))
    app.state.service = service
    from budget.mcp import http as mcp_http  # the MCP SDK loads only for a served app

    mcp_http.mount(app)
    web.mount(app)
    return app
