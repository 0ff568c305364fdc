"""The REST API as a FastAPI app: /api/v1, /health, /ready, /metrics and /docs.

It answers over the service in ``app.state.service`` and runs nothing of its
own; :func:`budget.server.create_app` adds /mcp, the dashboard and the
lifespan that opens the service and starts what runs beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from budget.api import metrics, problems
from budget.api.routes import admin, budgets, events, insight, ledger, operator, prices, retention
from budget.domain import redact
from budget.errors import StorageError

API_PREFIX = "/api/v1"
#: What runs for as long as an app runs (``budget.server`` gives the served app's).
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_api(lifespan: Lifespan | None = None) -> FastAPI:
    """The REST API's app, over the service the caller puts in ``app.state.service``."""
    app = FastAPI(
        title="Budget",
        version="0.1.0",
        description="Token-and-cost budgets for programs that call language models: "
        "allocate before a call, record usage after it.",
        lifespan=lifespan,
        responses=problems.RESPONSES,
    )
    app.state.service = None
    problems.install(app)
    metrics.install(app)
    app.include_router(operator.router, prefix=API_PREFIX)  # before /usage/{usage_id}
    for router in (budgets.router, ledger.router, admin.router, prices.router, events.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(insight.router, prefix=API_PREFIX)
    app.include_router(retention.router, prefix=API_PREFIX)
    _health(app)
    _register_problem_schema(app)
    return app


def _health(app: FastAPI) -> None:
    """/health (the process answers) and /ready (the database answers)."""

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
