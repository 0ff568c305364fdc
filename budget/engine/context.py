"""What every use case needs: the database, settings and per-process caches.

Policies and prices are read on almost every call, so each process keeps them
in memory and reloads them only when a version counter in the ``meta`` table
moves. Any process that changes policies or prices bumps the counter in the
same transaction, so every replica sees the change on its next call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, update

from budget.domain.models import Policy
from budget.pricing.catalog import PriceCatalog
from budget.settings import Settings
from budget.storage import tables as t
from budget.storage.database import Database
from budget.storage.mapping import row_to_policy
from budget.storage.prices import load_current_prices
from budget.storage.sql import insert_ignoring_conflicts

_VERSIONS = select(t.meta.c.key, t.meta.c.value)
POLICIES = "policies_version"
PRICES = "prices_version"


@dataclass
class _Cached:
    version: int = -1
    policies: tuple[Policy, ...] = ()
    policies_by_id: dict[str, Policy] = field(default_factory=dict)
    catalog_version: int = -1
    catalog: PriceCatalog | None = None


class EngineContext:
    """Shared state of one process's engine."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._cache = _Cached()
        self._lock = threading.Lock()
        self.window_ids: dict[tuple[str, str], int] = {}
        self.last_sweep = 0.0

    def refresh(self, conn: Connection) -> None:
        """Reload policies and prices if another call changed them."""
        versions = dict(conn.execute(_VERSIONS).all())
        policy_version = versions.get(POLICIES, 0)
        price_version = versions.get(PRICES, 0)
        cache = self._cache
        if cache.version != policy_version:
            self._load_policies(conn, policy_version)
        if cache.catalog_version != price_version or cache.catalog is None:
            self._load_catalog(conn, price_version)

    def _load_policies(self, conn: Connection, version: int) -> None:
        rows = conn.execute(
            select(t.policies)
            .join(t.budgets, t.budgets.c.id == t.policies.c.budget_id)
            .where(
                t.policies.c.deleted_at.is_(None),
                t.budgets.c.deleted_at.is_(None),
                t.budgets.c.active.is_(True),
            )
            .order_by(t.policies.c.created_at, t.policies.c.id)
        ).all()
        policies = tuple(row_to_policy(r) for r in rows)
        with self._lock:
            self._cache.policies = policies
            self._cache.policies_by_id = {p.policy_id: p for p in policies}
            self._cache.version = version

    def _load_catalog(self, conn: Connection, version: int) -> None:
        catalog = PriceCatalog(load_current_prices(conn))
        with self._lock:
            self._cache.catalog = catalog
            self._cache.catalog_version = version

    @property
    def policies(self) -> tuple[Policy, ...]:
        return self._cache.policies

    def policy(self, policy_id: str) -> Policy | None:
        return self._cache.policies_by_id.get(policy_id)

    @property
    def catalog(self) -> PriceCatalog:
        if self._cache.catalog is None:
            with self.db.read() as conn:
                self.refresh(conn)
        assert self._cache.catalog is not None
        return self._cache.catalog

    def invalidate(self) -> None:
        """Forget cached policies and prices (the next call reloads them)."""
        with self._lock:
            self._cache = _Cached()


def bump_version(conn: Connection, key: str) -> None:
    """Tell every process that policies or prices changed (same transaction)."""
    conn.execute(insert_ignoring_conflicts(conn, t.meta).values(key=key, value=0))
    conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=t.meta.c.value + 1))
