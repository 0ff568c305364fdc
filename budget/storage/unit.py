"""The unit of work: one transaction and the repositories that speak SQL in it.

``Database.write()`` and ``Database.read()`` hand out a :class:`Unit`. The
engine asks it for a repository by name (``tx.windows``, ``tx.ledger``,
``tx.budgets`` ...) and calls named operations on it; the SQL, the tables
and the driver's errors stay in ``budget.storage``. A test can hand the
engine any object with the same repository attributes (a fake).

A repository is a class in a storage module that takes the unit in its
constructor; it is built on first use and kept for the rest of the
transaction. Storage code that needs the SQLAlchemy connection itself uses
``tx.conn``; anything else asked of a unit (``execute``, ``info``,
``dialect``) is the connection's, so storage helpers take either.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: Repository name -> "module:Class". Kept in sections by area.
REPOSITORIES: dict[str, str] = {
    # -- the write path --
    "batch": "budget.storage.batch:Batch",
    "meta": "budget.storage.meta:Meta",
    "windows": "budget.storage.windows:Windows",
    "allocations": "budget.storage.allocations:Allocations",
    "ledger": "budget.storage.ledger:Ledger",
    "alerts": "budget.storage.alerts:Alerts",
    #
    # -- the read side --
    "rollups": "budget.storage.rollups:Rollups",
    "reports": "budget.storage.reports:Reports",
    "usage": "budget.storage.usage:Usage",
    "allocation_reads": "budget.storage.allocation_reads:AllocationReads",
    "window_reads": "budget.storage.window_reads:WindowReads",
    "metrics": "budget.storage.metrics_reads:Metrics",
    "retention": "budget.storage.retention:Retention",
    #
    # -- administration --
    "budgets": "budget.storage.budgets:Budgets",
    "policies": "budget.storage.policies:Policies",
    "keys": "budget.storage.keys:Keys",
    "corrections": "budget.storage.corrections:Corrections",
    "prices": "budget.storage.price_catalog:Prices",
    "price_runs": "budget.storage.price_runs:PriceRuns",
    "window_seeds": "budget.storage.window_seeds:WindowSeeds",
}


class Unit:
    """One transaction's repositories (see the module docstring)."""

    __slots__ = ("_repositories", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._repositories: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        spec = REPOSITORIES.get(name)
        if spec is None:
            return getattr(self.conn, name)
        repository = self._repositories.get(name)
        if repository is None:
            repository = self._repositories[name] = _repository_class(name, spec)(self)
        return repository

    @property
    def is_sqlite(self) -> bool:
        return self.conn.dialect.name == "sqlite"


#: Repository classes found so far: importing on every transaction costs the
#: write path a few percent.
_CLASSES: dict[str, type] = {}


def _repository_class(name: str, spec: str) -> type:
    cls = _CLASSES.get(name)
    if cls is None:
        module, _, attribute = spec.partition(":")
        cls = _CLASSES[name] = getattr(import_module(module), attribute)
    return cls


def connection(tx: Unit | Connection) -> Connection:
    """The SQLAlchemy connection of a unit (or the connection itself)."""
    return tx.conn if isinstance(tx, Unit) else tx
