"""Finding a budget from what a person types: its id or its name."""

from __future__ import annotations

from budget.domain import scope
from budget.domain.models import Budget
from budget.engine import budgets
from budget.engine.context import EngineContext
from budget.errors import NotFound


def resolve_budget(ctx: EngineContext, ref: str) -> Budget:
    """The live budget whose id is ``ref``, else the live one named ``ref``.

    Raises :class:`NotFound` naming ``ref`` when neither matches. A value too
    long to be an id (or a name) is not looked up as one.
    """
    if isinstance(ref, str) and ref:
        if len(ref) <= scope.max_length("budget_id"):
            try:
                return budgets.get_budget(ctx, ref)
            except NotFound:
                pass
        if len(ref) <= scope.max_length("name"):
            try:
                return budgets.find_budget(ctx, ref)
            except NotFound:
                pass
    raise NotFound("budget", "id or name", ref)
