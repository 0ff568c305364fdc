"""A dry run of allocate: what would happen, with nothing reserved or written."""

from __future__ import annotations

from dataclasses import replace

from budget.clock import utcnow
from budget.engine.allocation_request import AllocationRequest
from budget.engine.context import EngineContext
from budget.engine.dry_run import CheckResult, dry_run
from budget.engine.routing import suggest_cheaper

__all__ = ["CheckResult", "check"]


def check(ctx: EngineContext, request: AllocationRequest) -> CheckResult:
    """Evaluate every matching policy against its current counters; over a
    soft limit or on a denial, with the cheaper model allocate would suggest."""
    now = utcnow()
    result = dry_run(ctx, request, now)
    if not result.wants_advice:
        return result
    recommended = suggest_cheaper(ctx, request.attributes, now)
    return replace(result, recommended_model=recommended)
