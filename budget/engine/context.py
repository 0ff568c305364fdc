"""What every use case needs: the database, settings and per-process caches.

Policies and prices are read on almost every call, so each process keeps them
in memory and reloads them only when a version counter in the ``meta`` table
moves. Any process that changes policies or prices bumps the counter in the
same transaction, so every replica sees the change on its next call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from budget.domain.models import Policy, RequestAttributes
from budget.domain.periods import WindowSpan
from budget.pricing.catalog import PriceCatalog
from budget.settings import Settings
from budget.storage.database import Database, after_commit
from budget.storage.unit import Unit

POLICIES = "policies_version"
PRICES = "prices_version"


@dataclass
class _Cached:
    version: int = -1
    policies: tuple[Policy, ...] = ()
    policies_by_id: dict[str, Policy] = field(default_factory=dict)
    catalog_version: int = -1
    catalog: PriceCatalog | None = None


class StaleCache(Exception):
    """The policies or prices changed since this process cached them: the
    transaction that found out rolls back, reloads and starts again."""


@dataclass(frozen=True)
class Held:
    """What never changes about an allocation, kept by the process that saw
    it last, so drawing from it or releasing it reads nothing first."""

    allocation_id: str
    context_id: str
    attributes: RequestAttributes
    expires_at: datetime
    #: (window id, policy id, window key) of each window it holds, by id.
    windows: tuple[tuple[int, str, str], ...]

    @property
    def window_ids(self) -> list[int]:
        return [w[0] for w in self.windows]


class HeldCache:
    """A bounded map of allocation id to :class:`Held` (oldest dropped first)."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._items: dict[str, Held] = {}
        self._lock = threading.Lock()  # eviction iterates the dict

    def get(self, allocation_id: str) -> Held | None:
        return self._items.get(allocation_id)

    def put(self, held: Held) -> None:
        items = self._items
        with self._lock:
            items[held.allocation_id] = held
            while len(items) > self._size:
                items.pop(next(iter(items)), None)

    def drop(self, allocation_id: str) -> None:
        with self._lock:
            self._items.pop(allocation_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class EngineContext:
    """Shared state of one process's engine."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._cache = _Cached()
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self.window_ids: dict[tuple[str, str], int] = {}
        self.held = HeldCache()
        #: The last calendar window of each (policy, period, timezone).
        self.calendar_spans: dict[tuple, WindowSpan] = {}
        #: Soft windows (policy id, window key) last found over their limit:
        #: a request meeting one looks for its advice before reserving.
        self.over_soft: set[tuple[str, str]] = set()
        self.last_sweep = 0.0
        self._read_versions_at = 0.0
        self._seen_changes = -1

    def versions(self) -> tuple[int, int]:
        """The (policies, prices) versions cached now: take them before using
        the cache, and check them in the transaction with :meth:`check_versions`."""
        cache = self._cache
        return (cache.version, cache.catalog_version if cache.catalog is not None else -1)

    @staticmethod
    def check_versions(rows, expected: tuple[int, int]) -> None:
        """Raise :class:`StaleCache` unless ``rows`` (meta key, value: pairs or a dict), read in
        the caller's transaction, are the ``expected`` versions: the ones the
        caller's plan was made with. Versions only grow, so a plan made from a
        cache at least that new is current."""
        versions = dict(rows)
        if (versions.get(POLICIES, 0), versions.get(PRICES, 0)) != expected:
            raise StaleCache()

    def reload(self) -> None:
        """Bring the cached policies and prices up to date."""
        with self.db.read() as tx:
            self.refresh(tx)

    def refresh_at_most_every(self, seconds: float) -> None:
        """For reads that may see prices a little late (a cost estimate): read
        the versions at most every ``seconds``, not on every call."""
        now = time.monotonic()
        fresh = now - self._read_versions_at < seconds and self._seen_changes == _LOCAL[0]
        if self._cache.catalog is not None and fresh:
            return
        self._seen_changes = _LOCAL[0]
        self.reload()
        self._read_versions_at = now

    def refresh(self, tx: Unit) -> None:
        """Reload policies and prices if another call changed them."""
        versions = tx.meta.versions()
        policy_version = versions.get(POLICIES, 0)
        price_version = versions.get(PRICES, 0)
        if self._is_current(policy_version, price_version):
            return
        # One thread loads; the others wait for it and then find the cache
        # current (without this, a burst of requests after a start or a price
        # change each loaded the whole catalog at once).
        with self._loading:
            cache = self._cache
            if cache.version != policy_version:
                self._load_policies(tx, policy_version)
            if cache.catalog_version != price_version or cache.catalog is None:
                self._load_catalog(tx, price_version)

    def _is_current(self, policy_version: int, price_version: int) -> bool:
        cache = self._cache
        return (
            cache.version == policy_version
            and cache.catalog_version == price_version
            and cache.catalog is not None
        )

    def _load_policies(self, tx: Unit, version: int) -> None:
        policies = tx.meta.policies_in_force()
        with self._lock:
            # a policy change may have retired windows: find them again
            self.window_ids.clear()
            self._cache.policies = policies
            self._cache.policies_by_id = {p.policy_id: p for p in policies}
            self._cache.version = version

    def _load_catalog(self, tx: Unit, version: int) -> None:
        catalog = PriceCatalog(tx.meta.current_prices())
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
            with self.db.read() as tx:
                self.refresh(tx)
        assert self._cache.catalog is not None
        return self._cache.catalog

    def invalidate(self) -> None:
        """Forget cached policies and prices (the next call reloads them)."""
        with self._lock:
            self._cache = _Cached()
        self._read_versions_at = 0.0


#: Changes this process committed (a count), so its own reads never see them late.
_LOCAL = [0]


def _count_local_change() -> None:
    _LOCAL[0] += 1


def bump_version(tx: Unit, key: str) -> None:
    """Tell every process that policies or prices changed (same transaction)."""
    after_commit(tx, _count_local_change)
    tx.meta.bump(key)
