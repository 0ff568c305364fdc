"""What webhook administration needs from its caller: the database and the settings."""

from __future__ import annotations

from typing import Protocol

from budget.settings import Settings
from budget.storage.database import Database


class WebhookContext(Protocol):
    """The engine context as the webhooks see it (any object with these two)."""

    db: Database
    settings: Settings
