"""A dry run of allocate: what would happen, with nothing reserved or written."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from budget.domain.clock import utcnow
from budget.domain.enums import LimitKind, PolicyType
from budget.domain.models import WindowCounters
from budget.domain.money import nanos_to_usd
from budget.engine.allocate import AllocationRequest, reservation_cost
from budget.engine.context import EngineContext
from budget.engine.insight.routing import suggest_cheaper
from budget.engine.windows import matching_spans
from budget.errors import Denial
from budget.storage import tables as t

W = t.windows.c


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


def check(ctx: EngineContext, request: AllocationRequest) -> CheckResult:
    """Evaluate every matching policy against its current counters."""
    now = utcnow()
    with ctx.db.read() as conn:
        ctx.refresh(conn)
        nanos, priced = reservation_cost(ctx, request, now)
        spans = matching_spans(ctx, request.attributes, now)
        denials: list[Denial] = []
        over_soft = False
        for policy, span in spans:
            if policy.type not in (PolicyType.HARD_LIMIT, PolicyType.SOFT_LIMIT):
                continue
            row = conn.execute(
                select(t.windows).where(W.policy_id == policy.policy_id, W.window_key == span.key)
            ).first()
            c = (
                WindowCounters(
                    row.used_tokens, row.reserved_tokens, row.used_nanos, row.reserved_nanos
                )
                if row
                else WindowCounters()
            )
            token_limit, cost_limit = policy.effective_limits(request.critical)
            common = {
                "budget_id": policy.budget_id,
                "policy_id": policy.policy_id,
                "policy_name": policy.name,
                "window_key": span.key,
                "resets_at": span.ends_at,
            }
            over_tokens = token_limit is not None and (
                c.used_tokens + c.reserved_tokens + request.tokens > token_limit
            )
            over_cost = cost_limit is not None and (
                not priced or c.used_nanos + c.reserved_nanos + nanos > cost_limit
            )
            if policy.type is PolicyType.SOFT_LIMIT:
                over_soft = over_soft or over_tokens or over_cost
            elif over_tokens:
                denials.append(
                    Denial(
                        limit_kind=LimitKind.TOKENS.value,
                        limit=token_limit,
                        used=c.used_tokens,
                        reserved=c.reserved_tokens,
                        requested=request.tokens,
                        **common,
                    )
                )
            elif over_cost:
                denials.append(
                    Denial(
                        limit_kind=LimitKind.USD.value,
                        limit=nanos_to_usd(cost_limit),
                        used=nanos_to_usd(c.used_nanos),
                        reserved=nanos_to_usd(c.reserved_nanos),
                        requested=nanos_to_usd(nanos),
                        **common,
                    )
                )
    recommended = None
    if over_soft or denials:
        recommended = suggest_cheaper(ctx, request.attributes, now)
    return CheckResult(
        allowed=not denials,
        tokens=request.tokens,
        estimated_cost=nanos_to_usd(nanos) if priced else None,
        denials=tuple(denials),
        over_soft_limit=over_soft,
        recommended_model=recommended,
        policy_ids=tuple(p.policy_id for p, _ in spans),
    )
