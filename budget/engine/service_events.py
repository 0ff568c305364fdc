"""EventOperations: events, subscribers and webhooks, mixed into BudgetService."""

from __future__ import annotations

from budget.engine.context import EngineContext


class EventOperations:
    """Hear about spend without polling."""

    _ctx: EngineContext
