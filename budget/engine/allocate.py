"""Allocate: check every matching policy and reserve on all its windows, or on none.

The decision (DESIGN.md, "Allocate: the decision"):
1. tier: given, else from the model, else from the provider, else the highest;
2. matching policies: enabled, in date range, every non-empty filter equal;
3. hard_limit: reserve on every matching window atomically, or on none;
4. soft_limit: granted, marked over the soft limit, with a cheaper model;
5. warn and ignore: granted and counted (alerts come from usage).

The reservation is :mod:`budget.engine.reserve` (the write path); the
cheaper model over a soft limit is advice (:mod:`budget.engine.routing`),
looked for outside the reservation's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from budget.clock import utcnow
from budget.domain.models import Allocation
from budget.engine.alerts import record_denial, record_unpriced
from budget.engine.allocation_request import AllocationRequest
from budget.engine.context import EngineContext, Held, StaleCache
from budget.engine.denials import denial_of
from budget.engine.expiry import expire_allocations
from budget.engine.new_windows import current_counters
from budget.engine.reserve import NOT_ASKED, NeedsAdvice, Refused, reserve
from budget.engine.routing import suggest_cheaper
from budget.engine.windows import Target
from budget.errors import BudgetExceeded, PriceUnknown, StorageError


def allocate(ctx: EngineContext, request: AllocationRequest) -> Allocation:
    """Reserve for one call on every window that covers it, or raise BudgetExceeded."""
    now = utcnow()
    expired_first = reloaded = False
    advice: Any = NOT_ASKED
    for _ in range(8):
        try:
            allocation, targets = reserve(ctx, request, now, advice)
        except StaleCache:
            ctx.reload()
            reloaded = True
            continue
        except NeedsAdvice:
            advice = suggest_cheaper(ctx, request.attributes, now)
            continue
        except Refused as refused:
            # Expired allocations may still hold these windows: return them, then retry once.
            if not expired_first and _expire_holding(ctx, refused.targets, now):
                expired_first = True
                continue
            denied = _denied(ctx, refused.targets, request, refused.nanos)
            record_denial(ctx, denied, now)
            raise denied from None
        except PriceUnknown as unknown:
            if not reloaded:  # decided on cached policies and prices: make sure
                ctx.reload()
                reloaded = True
                continue
            record_unpriced(ctx, unknown, now)
            raise
        ctx.held.put(
            Held(
                allocation.allocation_id,
                allocation.context_id,
                allocation.attributes,
                allocation.expires_at,
                tuple((x.window_id, x.policy.policy_id, x.span.key) for x in targets),
            )
        )
        return allocation
    raise StorageError("the policies kept changing while allocating; try again", retryable=True)


def _expire_holding(ctx: EngineContext, targets: list[Target], now: datetime) -> int:
    """Expire overdue allocations that hold these windows; how many were."""
    return sum(
        ctx.db.run_write(lambda tx, x=x: expire_allocations(tx, now, window_id=x.window_id))
        for x in targets
    )


def _denied(
    ctx: EngineContext, targets: list[Target], request: AllocationRequest, nanos: int
) -> BudgetExceeded:
    with ctx.db.read() as tx:
        denials = [
            denial_of(x.policy, x.span, current_counters(tx, x.policy, x.span), request, nanos)
            for x in targets
        ]
    return BudgetExceeded(denials)
