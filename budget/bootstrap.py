"""The composition root: the one place that builds settings, the database
and the engine. Nothing connects or writes at import time."""

from __future__ import annotations

from typing import Any

from budget.engine.context import EngineContext
from budget.engine.pricing import seed_default_prices
from budget.engine.service import BudgetService
from budget.settings import Settings
from budget.storage.database import Database
from budget.storage.migrate import upgrade


def open(
    url: str | None = None, *, settings: Settings | None = None, **overrides: Any
) -> BudgetService:
    """Open Budget on a database: embedded SQLite by default, or ``url``
    (``BUDGET_DATABASE_URL``), e.g. ``postgresql://user@host/db``.

    Migrates the schema and seeds the shipped price catalog on first use.
    """
    if settings is None:
        settings = Settings(**({"database_url": url} if url else {}), **overrides)
    elif url or overrides:
        settings = settings.model_copy(
            update={**({"database_url": url} if url else {}), **overrides}
        )
    db = Database.connect(settings)
    if settings.auto_migrate:
        upgrade(db.engine)
    ctx = EngineContext(db, settings)
    if settings.seed_default_prices:
        seed_default_prices(ctx)
    return BudgetService(ctx)
