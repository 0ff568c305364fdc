"""The composition root: the one place that builds settings, the database
and the engine. Nothing connects or writes at import time."""

from __future__ import annotations

from typing import Any

from budget.domain import redact
from budget.engine.catalog_admin import start_scheduler
from budget.engine.context import EngineContext
from budget.engine.pricing import seed_default_prices
from budget.engine.service import BudgetService
from budget.errors import StorageError, ValidationError
from budget.settings import Settings
from budget.storage.database import Database
from budget.storage.migrate import upgrade


def _connect(settings: Settings) -> Database:
    """The database, migrated; driver errors become Budget's own."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        db = Database.connect(settings)
        if settings.auto_migrate:
            upgrade(db.engine)
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
    if settings is None:
        settings = Settings(**({"database_url": url} if url else {}), **overrides)
    elif url or overrides:
        settings = settings.model_copy(
            update={**({"database_url": url} if url else {}), **overrides}
        )
    db = _connect(settings)
    ctx = EngineContext(db, settings)
    if settings.seed_default_prices:
        seed_default_prices(ctx)
    if settings.refresh_prices:
        start_scheduler(ctx)
    service = BudgetService(ctx)
    if settings.deliver_events:
        service.start_event_delivery()
    return service
