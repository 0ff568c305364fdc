"""InsightOperations: reports, forecasts, analysis, recommendations and routing,
mixed into BudgetService (methods call :mod:`budget.engine.insight`)."""

from __future__ import annotations

from budget.engine.context import EngineContext


class InsightOperations:
    """Where the money goes and how to spend less."""

    _ctx: EngineContext
