"""The two ways the CLI's :class:`~budget.cli.client.Client` reaches the REST API.

``network_client``: a running ``budget serve`` at ``--url``, over HTTP.
``local_client``: the same FastAPI app, built in this process on the local
database and called through ASGI, without its background workers (no
lifespan runs). Whoever can open the database owns it, so the local app
treats every request as the admin's, as a keyless server on loopback does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from budget.cli.client import Client
from budget.cli.database import open_service, require_existing_sqlite

LOCAL_BASE_URL = "http://localhost"


def network_client(url: str, key: str | None, timeout: float) -> Client:
    """The client of the server at ``url``, sending ``key`` as a bearer token."""
    from budget.remote.wire import base_url

    target = base_url(url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx.Client(base_url=target, headers=headers, timeout=httpx.Timeout(timeout))
    return Client(http, target, timeout)


def local_client(database_url: str | None, *, must_exist: bool = False) -> Client:
    """The client of the app on the local database (opened, and migrated, now)."""
    from budget.domain import redact

    if must_exist:
        require_existing_sqlite(database_url)
    svc = open_service(database_url)
    try:
        app = local_app(svc)
    except BaseException:
        svc.close()
        raise
    from budget.cli.asgi import AppTransport

    http = httpx.Client(transport=AppTransport(app), base_url=LOCAL_BASE_URL)
    target = redact.url(svc.settings.database_url)
    return Client(http, target, on_close=svc.close, skew=timedelta(0))


def local_app(svc: Any) -> Any:
    """The REST API over ``svc`` (the routes ``budget serve`` serves, without
    the dashboard and MCP), every request the admin's."""
    from budget.api.app import create_api
    from budget.api.deps import OPEN_CALLER, get_caller

    app = create_api()
    app.state.service = svc
    app.dependency_overrides[get_caller] = lambda: OPEN_CALLER
    return app
