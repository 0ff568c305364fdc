"""The transaction of ``allocate``: check every matching policy and reserve on
all its windows, or on none.

Everything the reservation needs from Python (price, matching policies,
windows) is worked out before the transaction, from the process's caches;
the transaction then sends its statements together (one round trip on
PostgreSQL, plus the COMMIT that carries the allocation's rows): the cache
versions, the window locks, and one conditional update over every window
that checks the hard limits in its WHERE clause.

Advice (a cheaper model over a soft limit) is never looked for here: it
reads two weeks of usage, and this transaction holds window locks. When a
soft limit is passed and the caller brought no advice, the transaction rolls
back with :class:`NeedsAdvice`; the caller looks for advice in a read
transaction of its own and reserves again with it. The process remembers
the soft windows found over their limit, so the next request that meets one
brings its advice from the start.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from budget.domain.enums import AllocationStatus, PolicyType
from budget.domain.models import Allocation
from budget.engine.allocation_request import (
    AllocationRequest,
    require_price_for_hard_usd,
    reservation_cost,
)
from budget.engine.context import EngineContext
from budget.engine.denials import over_limits, over_request_limit
from budget.engine.new_windows import ensure_windows
from budget.engine.windows import Target, matching_spans, window_targets
from budget.events import emit as events
from budget.storage.allocations import new_allocation_id
from budget.storage.mapping import attributes_to_columns, row_to_allocation
from budget.storage.unit import Unit

#: The advice of a request nobody looked for yet (None: looked for, none found).
NOT_ASKED: Any = object()
#: Soft windows a process remembers as over their limit before it starts over.
OVER_SOFT_KEPT = 10_000


class Refused(Exception):
    """A hard window refused the reservation (the transaction rolled back)."""

    def __init__(self, targets: list[Target], nanos: int) -> None:
        super().__init__("refused")
        self.targets = targets
        self.nanos = nanos


class NeedsAdvice(Exception):
    """A soft limit is passed and no advice came with the request: look for
    it outside the transaction, then reserve again."""


def reserve(
    ctx: EngineContext, request: AllocationRequest, now: datetime, advice: Any = NOT_ASKED
) -> tuple[Allocation, list[Target]]:
    """One attempt with the cached policies and prices, checked in the transaction.

    ``advice``: the cheaper model to suggest should a soft limit be passed
    (None: there is none), or :data:`NOT_ASKED`. Raises :class:`Refused`,
    :class:`NeedsAdvice`, ``StaleCache`` or ``PriceUnknown``.
    """
    expected = ctx.versions()
    nanos, priced = reservation_cost(ctx, request, now)
    spans = matching_spans(ctx, request.attributes, now, gate=True)
    require_price_for_hard_usd(request, [p for p, _ in spans], priced)
    soft = {(p.policy_id, s.key) for p, s in spans if p.type is PolicyType.SOFT_LIMIT}
    if advice is NOT_ASKED and not soft.isdisjoint(ctx.over_soft):
        raise NeedsAdvice()
    ensure_windows(ctx, spans, now)
    created: dict[tuple[str, str], int] = {}
    targets: list[Target] = []

    def work(tx: Unit) -> Allocation:
        created.clear()
        targets[:] = window_targets(ctx, tx, spans, now, created)
        by_id = sorted(targets, key=lambda x: x.window_id)
        ids = [x.window_id for x in by_id]
        limits = [_limits(x, request.critical) for x in by_id]
        with tx.batch.pipelined():
            versions = tx.meta.queue_versions()
            tx.windows.lock(ids)
            after = tx.windows.reserve(limits, request.tokens, nanos).result() if ids else {}
            ctx.check_versions(versions.result(), expected)
        refused = [x for x in targets if x.is_hard and x.window_id not in after]
        if refused:
            raise Refused(refused, nanos)
        over_soft = _over_soft(targets, after, request.critical)
        _remember(ctx, soft, over_soft)
        if over_soft and advice is NOT_ASKED:
            raise NeedsAdvice()
        values = _values(request, targets, nanos, now, over_soft, advice if over_soft else None)
        tx.allocations.insert(values, ids)
        allocation = row_to_allocation(SimpleNamespace(**values))
        events.allocation_created(tx, allocation, targets, now)
        return allocation

    allocation = ctx.db.run_write(work)
    ctx.window_ids.update(created)
    return allocation, targets


def _over_soft(targets: list[Target], after: dict, critical: bool) -> bool:
    """Whether a soft window is past a limit with this reservation counted."""
    return any(
        any(over_limits(x.policy, after[x.window_id], 0, 0, critical))
        or over_request_limit(x.policy, after[x.window_id], critical, adding=0)
        for x in targets
        if x.policy.type is PolicyType.SOFT_LIMIT
    )


def _remember(ctx: EngineContext, soft: set[tuple[str, str]], over: bool) -> None:
    """Keep (or forget) these soft windows as over their limit: a hint only."""
    if not soft:
        return
    if over:
        if len(ctx.over_soft) > OVER_SOFT_KEPT:
            ctx.over_soft.clear()
        ctx.over_soft.update(soft)
    elif not soft.isdisjoint(ctx.over_soft):
        ctx.over_soft.difference_update(soft)


def _limits(target: Target, critical: bool) -> tuple[int, int | None, int | None, int | None]:
    """(window id, token limit, nano limit, request limit) to check; no limits
    off hard windows."""
    if not target.is_hard:
        return (target.window_id, None, None, None)
    policy = target.policy
    return (
        target.window_id,
        *policy.effective_limits(critical),
        policy.effective_request_limit(critical),
    )


def _values(
    request: AllocationRequest,
    targets: list[Target],
    nanos: int,
    now: datetime,
    over_soft: bool,
    recommended: str | None,
) -> dict[str, Any]:
    return {
        "id": new_allocation_id(),
        "context_id": request.context_id,
        "session_id": request.attributes.session_id,
        "task_id": request.attributes.task_id,
        "priority": request.priority,
        "tokens_requested": request.tokens,
        "tokens_reserved": request.tokens,
        "nanos_reserved": nanos,
        "tokens_remaining": request.tokens,
        "nanos_remaining": nanos,
        "tokens_used": 0,
        "nanos_used": 0,
        "status": AllocationStatus.ACTIVE.value,
        "over_soft_limit": over_soft,
        "recommended_model": recommended,
        "policy_ids": [x.policy.policy_id for x in targets],
        "metadata": request.metadata,
        "expires_at": now + request.ttl,
        "created_at": now,
        "closed_at": None,
        **attributes_to_columns(request.attributes),
    }
