"""The composition root: the one place that builds settings, the database,
the runtime (the engine's context and what runs beside it) and the service.
Nothing connects or writes at import time."""

from __future__ import annotations

from typing import Any

from budget.domain import redact
from budget.engine.catalog_admin import start_scheduler
from budget.engine.housekeeping import Housekeeper
from budget.engine.pricing import seed_default_prices
from budget.engine.runtime import Runtime
from budget.engine.service import BudgetService
from budget.errors import StorageError, ValidationError
from budget.settings import Settings
from budget.storage.database import Database
from budget.storage.migrate import upgrade_if_behind


def _connect(settings: Settings) -> Database:
    """The database, migrated; driver errors become Budget's own."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        db = Database.connect(settings)
        if settings.auto_migrate:
            upgrade_if_behind(db.engine)
    except ArgumentError as exc:
        raise ValidationError(
            "database_url",
            _masked(settings.database_url),
            f"not a usable database URL: {redact.text(str(exc))}",
        ) from None
    except DBAPIError as exc:
        raise StorageError(
            f"cannot open the database {_masked(settings.database_url)}: "
            f"{redact.text(str(exc.orig))}"
        ) from None
    except OSError as exc:
        raise StorageError(
            f"cannot open the database {_masked(settings.database_url)}: {redact.text(str(exc))}"
        ) from None
    return db


def _masked(url: str) -> str:
    """The URL without its password, for messages."""
    return redact.url(url)


def open(
    url: str | None = None, *, settings: Settings | None = None, **overrides: Any
) -> BudgetService:
    """Open Budget on a database: embedded SQLite by default, or ``url``
    (``BUDGET_DATABASE_URL``), e.g. ``postgresql://user@host/db``.

    Migrates the schema and seeds the shipped price catalog on first use.
    With ``refresh_prices=True`` (``BUDGET_REFRESH_PRICES``), a background
    thread refreshes prices from their sources at each source's interval.
    With ``deliver_events=True`` (``BUDGET_DELIVER_EVENTS``), another delivers
    webhooks from the event outbox (docs/events.md).
    """
    settings = _settings(url, settings, overrides)
    runtime = Runtime(_connect(settings), settings)
    try:
        return _start(runtime)
    except BaseException:
        runtime.close()
        raise


def _settings(url: str | None, settings: Settings | None, overrides: dict[str, Any]) -> Settings:
    """``settings`` (default: from the environment) with ``url`` and ``overrides`` applied."""
    if settings is None:
        return Settings(**({"database_url": url} if url else {}), **overrides)
    if url or overrides:
        return settings.model_copy(update={**({"database_url": url} if url else {}), **overrides})
    return settings


def _start(runtime: Runtime) -> BudgetService:
    """Build the rest in order, on a connected runtime: the shipped prices, the
    price refresh, the service, webhook delivery and the housekeeper (not
    started: the server starts it). :meth:`Runtime.close` stops them in reverse."""
    settings = runtime.settings
    if settings.seed_default_prices:
        seed_default_prices(runtime)
    if settings.refresh_prices:
        start_scheduler(runtime)
    service = BudgetService(runtime)
    if settings.deliver_events:
        runtime.start_delivery()
    runtime.housekeeper = Housekeeper(service, settings.housekeeping_interval_seconds)
    return service
