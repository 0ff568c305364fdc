"""Budget: token-and-cost budgets for programs that call language models.

import budget
svc = budget.open()                      # embedded SQLite
team = svc.create_budget(name="team-alpha")
"""

from budget.aio import connect_async, open_async
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
from budget.remote import connect
from budget.settings import Settings

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
__version__ = "0.1.0"
