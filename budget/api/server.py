"""Running the service under uvicorn, with one or more worker processes."""

from __future__ import annotations

import copy
import errno
import ipaddress
import os
import socket
from typing import Any

from fastapi import FastAPI

from budget.api.metrics_dir import multiprocess_metrics
from budget.domain import redact
from budget.errors import ValidationError
from budget.settings import Settings


def app_factory() -> FastAPI:
    """The app for uvicorn's ``--factory`` (each worker opens its own service)."""
    from budget.api.app import create_app

    return create_app(settings=Settings())


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with Budget's own loggers and secrets masked in all of them."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": redact.LogFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["budget"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to them."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind(host: str, keys_configured: bool, insecure: bool) -> None:
    """Refuse to expose an open server: beyond loopback, API keys are required."""
    if is_loopback(host) or keys_configured or insecure:
        return
    raise ValidationError(
        "host",
        host,
        "binding beyond loopback needs API keys (create one with "
        "`budget keys create NAME --role admin`) or --insecure to serve without them",
    )


def check_port(host: str, port: int) -> None:
    """Refuse, before anything starts, an address this process cannot listen on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValidationError("host", host, f"cannot be resolved: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ValidationError(
                "port", port, f"{reason} on {host}; choose another with --port"
            ) from None


def serve(
    host: str,
    port: int,
    workers: int,
    settings: Settings,
    log_level: str = "info",
) -> None:
    """Migrate once, then run uvicorn; workers share the database (and, with
    more than one, their metrics: see :mod:`budget.api.metrics_dir`)."""
    import uvicorn

    from budget.bootstrap import open as open_budget

    with open_budget(settings=settings):
        pass  # migrate and seed before the workers start
    os.environ["BUDGET_DATABASE_URL"] = settings.database_url
    os.environ["BUDGET_SERVICE_HOST"] = host  # what the registry and /mcp are told
    os.environ["BUDGET_SERVICE_PORT"] = str(port)
    os.environ["BUDGET_SERVICE_INSECURE"] = "1" if settings.service_insecure else "0"
    with multiprocess_metrics(workers):  # before any worker imports prometheus_client
        uvicorn.run(
            "budget.api.server:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            log_config=log_config(),
            access_log=False,
        )
