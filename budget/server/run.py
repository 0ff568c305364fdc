"""Running the served app under uvicorn, with one or more worker processes.

Every worker builds its app from the :class:`Settings` the parent was given:
the settings travel with uvicorn's configuration into each worker process
(pickled by its supervisor), never through the environment, so a setting
given in code reaches every worker as it reaches the parent.
"""

from __future__ import annotations

import copy
import inspect
import sys
from typing import Any

from budget.api.metrics_dir import multiprocess_metrics
from budget.bootstrap import open as open_budget
from budget.domain import redact
from budget.server.factory import AppFactory
from budget.settings import Settings


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with Budget's own loggers and secrets masked in all of them."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": redact.LogFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["budget"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(
    host: str,
    port: int,
    workers: int,
    settings: Settings,
    log_level: str = "info",
) -> None:
    """Migrate once, then run uvicorn; workers share the database (and, with
    more than one, their metrics: see :mod:`budget.api.metrics_dir`). The
    workers are told ``host`` and ``port`` (the registry and /mcp use them)."""
    import uvicorn

    with open_budget(settings=settings):
        pass  # migrate and seed before the workers start
    served = settings.model_copy(update={"service_host": host, "service_port": port})
    with multiprocess_metrics(workers):  # before any worker imports prometheus_client
        config = uvicorn.Config(
            AppFactory(served),
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            log_config=log_config(),
            access_log=False,
        )
        _run(config)


def _run(config) -> None:
    """What ``uvicorn.run`` does with a configuration, for an app factory
    object: one process serves itself; more are started and watched by
    uvicorn's supervisor. Exits with uvicorn's code when one process fails to start."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config=config)
    try:
        if config.workers > 1:
            sockets = [config.bind_socket()]
            if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn
                Multiprocess(config, target=server.run, sockets=sockets).run()
            else:
                Multiprocess(config, sockets=sockets).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
