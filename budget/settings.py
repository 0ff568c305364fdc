"""Settings, read from the environment (prefix ``BUDGET_``) or given in code."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from budget.domain.enums import Tier


def default_database_url() -> str:
    """An SQLite file in the user's data directory (created on first use)."""
    return f"sqlite:///{Path(user_data_dir('budget', appauthor=False)) / 'budget.db'}"


class Settings(BaseSettings):
    """Everything Budget can be told; each field maps to ``BUDGET_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    #: SQLite only: NORMAL is durable across crashes of the process in WAL mode;
    #: FULL also survives a power cut, at a cost per commit.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"
    sqlite_busy_timeout_ms: int = 60_000
    pool_size: int = 10
    max_overflow: int = 20
    allocation_ttl_seconds: int = 3600
    #: Tier per provider and per model, over the built-in defaults. A model key
    #: ending in ``*`` is a prefix (``"llama*": "local_midweight"``).
    provider_tiers: dict[str, Tier] = Field(default_factory=dict)
    model_tiers: dict[str, Tier] = Field(default_factory=dict)
    #: A cheaper model to suggest for a model over a soft limit, over the
    #: catalog's own choice (``{"gpt-4o": "gpt-4o-mini"}``).
    fallback_models: dict[str, str] = Field(default_factory=dict)
    #: How many expired allocations one sweep returns at most.
    sweep_batch: int = 500
    auto_migrate: bool = True
    seed_default_prices: bool = True
