"""What allocate would decide now, with nothing reserved or written.

``check`` shows it with advice (a cheaper model over a soft limit or on a
denial); routing tries it on each model it considers, where no advice is
wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from budget.clock import utcnow
from budget.domain.enums import PolicyType
from budget.domain.money import nanos_to_usd
from budget.engine.allocation_request import (
    AllocationRequest,
    require_price_for_hard_usd,
    reservation_cost,
)
from budget.engine.context import EngineContext
from budget.engine.denials import denial_of, over_limits, over_request_limit
from budget.engine.new_windows import current_counters
from budget.engine.windows import matching_spans
from budget.errors import Denial


@dataclass(frozen=True)
class CheckResult:
    """Whether an allocation would be granted now, and why not."""

    allowed: bool
    tokens: int
    estimated_cost: Decimal | None
    denials: tuple[Denial, ...]
    over_soft_limit: bool
    recommended_model: str | None
    policy_ids: tuple[str, ...]

    @property
    def wants_advice(self) -> bool:
        """Whether a cheaper model is worth suggesting (over a soft limit, or denied)."""
        return self.over_soft_limit or bool(self.denials)


def dry_run(
    ctx: EngineContext, request: AllocationRequest, now: datetime | None = None
) -> CheckResult:
    """Evaluate every matching policy against its current counters at ``now``
    (no advice: ``recommended_model`` is None)."""
    now = now or utcnow()
    with ctx.db.read() as tx:
        ctx.refresh(tx)
        nanos, priced = reservation_cost(ctx, request, now)
        spans = matching_spans(ctx, request.attributes, now, gate=True)
        require_price_for_hard_usd(request, [policy for policy, _ in spans], priced)
        denials: list[Denial] = []
        over_soft = False
        for policy, span in spans:
            if policy.type not in (PolicyType.HARD_LIMIT, PolicyType.SOFT_LIMIT):
                continue
            counters = current_counters(tx, policy, span)
            over_tokens, over_cost = over_limits(
                policy, counters, request.tokens, nanos, request.critical
            )
            over_tokens = over_tokens or over_request_limit(policy, counters, request.critical)
            # A soft USD limit cannot be checked without a price: count it as over.
            over_cost = over_cost or (not priced and policy.cost_limit_nanos is not None)
            if policy.type is PolicyType.SOFT_LIMIT:
                over_soft = over_soft or over_tokens or over_cost
            elif over_tokens or over_cost:
                denials.append(denial_of(policy, span, counters, request, nanos))
    return CheckResult(
        allowed=not denials,
        tokens=request.tokens,
        estimated_cost=nanos_to_usd(nanos) if priced else None,
        denials=tuple(denials),
        over_soft_limit=over_soft,
        recommended_model=None,
        policy_ids=tuple(p.policy_id for p, _ in spans),
    )
