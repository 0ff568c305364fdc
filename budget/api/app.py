"""The FastAPI application: /api/v1, /health, /ready, /metrics, /docs, and the dashboard at /."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from budget.api import metrics, problems
from budget.api.routes import admin, budgets, events, insight, ledger, operator, prices, retention
from budget.domain import redact
from budget.engine.service import BudgetService
from budget.errors import StorageError
from budget.events.lifespan import events_lifespan
from budget.settings import Settings

API_PREFIX = "/api/v1"


def create_app(service: BudgetService | None = None, settings: Settings | None = None) -> FastAPI:
    """The app over ``service``, or over a service opened from ``settings`` at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = None
        if getattr(app.state, "service", None) is None:
            from budget.bootstrap import open as open_budget

            owned = open_budget(settings=settings or Settings())
            app.state.service = owned
        try:
            async with events_lifespan(app, owned is not None):
                yield
        finally:
            if owned is not None:
                owned.close()

    app = FastAPI(
        title="Budget",
        version="0.1.0",
        description="Token-and-cost budgets for programs that call language models: "
        "allocate before a call, record usage after it.",
        lifespan=lifespan,
        responses=problems.RESPONSES,
    )
    app.state.service = service
    problems.install(app)
    metrics.install(app)
    app.include_router(operator.router, prefix=API_PREFIX)  # before /usage/{usage_id}
    for router in (budgets.router, ledger.router, admin.router, prices.router, events.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(insight.router, prefix=API_PREFIX)
    app.include_router(retention.router, prefix=API_PREFIX)
    from budget.mcp import http as mcp_http  # the MCP SDK loads only for a served app

    mcp_http.mount(app)
    from budget import web

    web.mount(app)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"], responses={503: {"description": "Database down"}})
    def ready() -> JSONResponse:
        """Readiness: the database answers."""
        try:
            app.state.service.ping()
        except StorageError as exc:
            detail = redact.text(exc.message)
            return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
        return JSONResponse({"status": "ready"})

    _register_problem_schema(app)
    return app


def _register_problem_schema(app: FastAPI) -> None:
    """Add the Problem model to the OpenAPI components the error responses cite."""
    from fastapi.openapi.utils import get_openapi

    from budget.api.schemas import Problem

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                Problem.model_json_schema()
            )
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
