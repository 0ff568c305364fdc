"""Settings, read from the environment (prefix ``BUDGET_``) or given in code."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from budget.domain.enums import Tier
from budget.domain.limits import MAX_RATE_PER_MILLION


def default_database_url() -> str:
    """An SQLite file in the user's data directory (created on first use)."""
    return f"sqlite:///{Path(user_data_dir('budget', appauthor=False)) / 'budget.db'}"


class PriceSourceSettings(BaseModel):
    """Changes to one price source, or (with ``kind``) a new one, e.g. an HTML
    pricing page: ``{"kind": "html", "url": ..., "options": {"provider": ...}}``.
    Fields left None keep the built-in value (see docs/prices.md)."""

    kind: str | None = None
    lineage: str | None = None
    active: bool | None = None
    trust: Decimal | None = None
    refresh_interval_seconds: int | None = None
    url: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


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
    #: Routing's last resort before a denial: a free model as "provider/model"
    #: (e.g. "ollama/llama3.1"); unset, routing has no local fallback (docs/insight.md).
    route_local_model: str | None = None
    #: Capabilities per model ("provider/model" or "model": ["tools", "vision", ...]),
    #: over the shipped model facts (recommendation and routing constraints).
    model_capabilities: dict[str, list[str]] = Field(default_factory=dict)
    #: How many expired allocations one sweep returns at most.
    sweep_batch: int = 500
    #: ``budget serve`` sweeps expired allocations and checks forecasts this
    #: often, in seconds (0: never; the library leaves it to its caller).
    housekeeping_interval_seconds: float = 300
    #: Housekeeping also prunes delivered events, finished webhook deliveries
    #: and closed allocations older than this many days (None: never; docs/retention.md).
    retention_days: int | None = Field(default=None, ge=1, le=100_000)
    #: With ``retention_days``, housekeeping prunes the ledger too (rollups stay).
    retention_ledger: bool = False
    auto_migrate: bool = True
    seed_default_prices: bool = True

    # --- price sources (docs/prices.md) ---------------------------------------
    #: Start the background refresh of prices when Budget opens (off by default).
    refresh_prices: bool = False
    #: How often the refresh thread looks for sources that are due, in seconds.
    price_refresh_tick_seconds: int = 60
    #: Per source name: overrides of a built-in source, or a new source.
    price_sources: dict[str, PriceSourceSettings] = Field(default_factory=dict)
    #: False makes every network source inactive (offline sources still run).
    price_network: bool = True
    price_http_timeout_seconds: float = 20.0
    price_http_retries: int = 2
    price_http_backoff_seconds: float = 0.5
    #: Two sources agree on a rate when they differ by at most this share of
    #: the larger rate, or by at most the absolute amount (USD per million).
    price_tolerance_relative: Decimal = Decimal("0.01")
    price_tolerance_absolute: Decimal = Decimal("0.000001")
    #: A source's rate above this (USD per million tokens) is rejected.
    price_ceiling_per_million: Decimal = Field(default=Decimal(1000), gt=0, le=MAX_RATE_PER_MILLION)
    #: Add models the catalog does not know yet when a source prices them.
    price_add_new_models: bool = True

    # --- events, webhooks, MCP and the service registry (docs/events.md, docs/registry.md)
    #: Deliver webhooks from a background thread of this process (library: off).
    deliver_events: bool = False
    #: ``budget serve`` delivers webhooks (false: leave it to another process).
    server_delivers_events: bool = True
    #: Seconds between two passes of the webhook dispatcher.
    event_dispatch_interval_seconds: float = Field(default=0.5, gt=0, le=3600)
    #: Seconds between two reads of the outbox by an open SSE stream.
    event_stream_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Seconds between keep-alive comments on an idle SSE stream.
    event_stream_ping_seconds: float = Field(default=15.0, gt=0, le=3600)
    #: Seconds a webhook receiver has to answer (per connect / read).
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    #: Attempts before a delivery is marked dead (replayable).
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    #: First retry delay; it doubles with each failure up to the maximum.
    webhook_backoff_seconds: float = Field(default=2.0, gt=0, le=86400)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    #: Deliveries one webhook gets per pass (sent in order, one at a time).
    webhook_batch_size: int = Field(default=50, ge=1, le=10_000)
    #: Worker threads sending to different webhooks at the same time.
    webhook_workers: int = Field(default=4, ge=1, le=64)
    #: Allow webhook targets on loopback, private, link-local and other
    #: non-public addresses (refused by default: SSRF; docs/events.md).
    webhook_allow_private: bool = False
    #: Networks (CIDR) webhooks may reach although not public, e.g. ["10.20.0.0/16"].
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    #: After ``rotate-secret``, seconds the old secret still signs deliveries too.
    webhook_secret_overlap_seconds: int = Field(default=86400, ge=0, le=30 * 86400)
    #: Where people reach this service's dashboard (e.g. https://budget.example.com);
    #: Slack messages link to it when set.
    public_url: str | None = None
    #: ``/metrics`` reads the database at most this often, in seconds, per
    #: process (0: on every scrape); docs/metrics.md.
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    #: The service registry (Tekton's Hermes API, e.g. http://127.0.0.1:8001/api);
    #: unset: no registration.
    registry_url: str | None = None
    registry_component: str = "budget"
    registry_heartbeat_seconds: float = Field(default=60.0, gt=0, le=3600)
    registry_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    #: The URL other components reach this service at (default: from host and port).
    advertised_url: str | None = None
    #: Where ``budget serve`` listens (it sets these for its workers).
    service_host: str = "127.0.0.1"
    #: ``budget serve --insecure``: served beyond loopback without API keys on
    #: purpose. Otherwise a server bound beyond loopback refuses every request
    #: while no live key exists (revoking the last one closes it, never opens it).
    service_insecure: bool = False
    service_port: int = Field(default=8013, ge=1, le=65535)

    # --- the dashboard (docs/dashboard.md) --------------------------------------
    #: Signs the dashboard's session cookies. Unset: a random secret generated once
    #: and kept in ``dashboard-secret`` in the user data directory (0600), shared by
    #: the workers of one machine; set it when several machines serve one database.
    dashboard_secret: SecretStr | None = None
    #: How long a dashboard login lasts, in hours.
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"webhook_allowed_networks: {network!r} is not a network"
                ) from None
        return value
