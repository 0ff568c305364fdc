"""Prometheus metrics, served at /metrics: this process's HTTP latency and
allocation outcomes, and the database-sourced families (:mod:`budget.api.metrics_db`).

With several worker processes (``budget serve --workers N``) the per-process
metrics live in prometheus_client's multiprocess mode: each worker writes its
values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set up by
:mod:`budget.api.metrics_dir` before the workers start) and every scrape sums
all of them, so any worker serves the same totals. The database-sourced
families are the same from every worker by construction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric

from budget.api.deps import AdminDep
from budget.api.metrics_db import DatabaseCollector
from budget.api.metrics_dir import MULTIPROC_ENV

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


class _Exposition:
    """Everything one scrape shows: the process metrics (summed over all worker
    processes in multiprocess mode) and the database's."""

    def __init__(self, database: DatabaseCollector) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROC_ENV):
            workers = CollectorRegistry()
            multiprocess.MultiProcessCollector(workers)
            yield from workers.collect()
        else:
            yield from REGISTRY.collect()
        yield from self.database.collect()


def install(app: FastAPI) -> None:
    """Time every request and serve the metrics at /metrics."""
    app.add_middleware(TimingMiddleware)
    exposition = _Exposition(DatabaseCollector(lambda: app.state.service))

    @app.get("/metrics", include_in_schema=False)
    def metrics(_: AdminDep) -> Response:
        """Budget names, spend and webhooks are an admin's to see: once API keys
        exist, a scrape needs an admin key (as every other request needs a key)."""
        return Response(generate_latest(exposition), media_type=CONTENT_TYPE_LATEST)
