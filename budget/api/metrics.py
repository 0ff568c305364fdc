"""Prometheus metrics of one server process, served at /metrics."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
REQUESTS = Histogram(
    "budget_http_request_seconds",
    "HTTP request latency by route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
ALLOCATIONS = Counter(
    "budget_allocations_total", "Allocations by outcome.", ["outcome"], registry=REGISTRY
)


def count_allocation(outcome: str) -> None:
    ALLOCATIONS.labels(outcome).inc()


class TimingMiddleware:
    """Times every HTTP request by route and status: a plain ASGI middleware,
    which costs a few microseconds where ``@app.middleware`` costs a task and
    a stream per request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            REQUESTS.labels(
                scope["method"], getattr(route, "path", "unmatched"), str(status[0])
            ).observe(time.perf_counter() - start)


def install(app: FastAPI) -> None:
    """Time every request and serve the registry at /metrics."""
    app.add_middleware(TimingMiddleware)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
