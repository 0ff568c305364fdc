"""Budget: token-and-cost budgets for programs that call language models.

import budget
svc = budget.open()                      # embedded SQLite
team = svc.create_budget(name="team-alpha")

The names below load on first use (PEP 562), so ``import budget`` and the
command line start quickly and no module below this one imports it back.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from budget.distribution import __version__ as __version__

#: Each public name and the module it comes from.
_EXPORTS = {
    "AlertKind": "budget.domain.enums",
    "AllocationStatus": "budget.domain.enums",
    "Period": "budget.domain.enums",
    "PolicyType": "budget.domain.enums",
    "Priority": "budget.domain.enums",
    "Tier": "budget.domain.enums",
    "BudgetError": "budget.errors",
    "BudgetExceeded": "budget.errors",
    "Conflict": "budget.errors",
    "Denial": "budget.errors",
    "Forbidden": "budget.errors",
    "IdempotencyConflict": "budget.errors",
    "NotFound": "budget.errors",
    "PriceUnknown": "budget.errors",
    "StorageError": "budget.errors",
    "ValidationError": "budget.errors",
    "BudgetService": "budget.engine.service",
    "Settings": "budget.settings",
    "open": "budget.bootstrap",
    "connect": "budget.remote.client",
    "connect_async": "budget.aio.remote",
    "open_async": "budget.aio.service",
    "wrap": "budget.integrations.wrap",
}

__all__ = [
    "AlertKind",
    "AllocationStatus",
    "BudgetError",
    "BudgetExceeded",
    "BudgetService",
    "Conflict",
    "Denial",
    "Forbidden",
    "IdempotencyConflict",
    "NotFound",
    "Period",
    "PolicyType",
    "PriceUnknown",
    "Priority",
    "Settings",
    "StorageError",
    "Tier",
    "ValidationError",
    "connect",
    "connect_async",
    "open",
    "open_async",
    "wrap",
]

if TYPE_CHECKING:
    from budget.aio.remote import connect_async
    from budget.aio.service import open_async
    from budget.bootstrap import open
    from budget.domain.enums import AlertKind, AllocationStatus, Period, PolicyType, Priority, Tier
    from budget.engine.service import BudgetService
    from budget.errors import (
        BudgetError,
        BudgetExceeded,
        Conflict,
        Denial,
        Forbidden,
        IdempotencyConflict,
        NotFound,
        PriceUnknown,
        StorageError,
        ValidationError,
    )
    from budget.integrations.wrap import wrap
    from budget.remote.client import connect
    from budget.settings import Settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'budget' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
