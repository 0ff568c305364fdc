"""Why a window refuses a request: its limits, checked against its counters.

The limits themselves are enforced by the window statements
(:mod:`budget.storage.windows`); these functions say, for a denial, a soft
limit and a dry run (``check``), which limit a request passes.
"""

from __future__ import annotations

from decimal import Decimal

from budget.domain.enums import LimitKind
from budget.domain.models import Policy, WindowCounters
from budget.domain.money import nanos_to_usd
from budget.domain.periods import WindowSpan
from budget.engine.allocation_request import AllocationRequest
from budget.errors import Denial


def over_limits(
    policy: Policy, counters: WindowCounters, tokens: int, nanos: int, critical: bool
) -> tuple[bool, bool]:
    """Whether adding ``tokens`` and ``nanos`` to these counters passes the
    policy's (token limit, USD limit) for a request of this priority."""
    token_limit, cost_limit = policy.effective_limits(critical)
    over_tokens = token_limit is not None and (
        counters.used_tokens + counters.reserved_tokens + tokens > token_limit
    )
    over_cost = cost_limit is not None and (
        counters.used_nanos + counters.reserved_nanos + nanos > cost_limit
    )
    return over_tokens, over_cost


def over_request_limit(
    policy: Policy, counters: WindowCounters, critical: bool, adding: int = 1
) -> bool:
    """Whether ``adding`` more requests pass the policy's request limit."""
    limit = policy.effective_request_limit(critical)
    return limit is not None and counters.used_requests + adding > limit


def denial_of(
    policy: Policy,
    span: WindowSpan,
    counters: WindowCounters,
    request: AllocationRequest,
    nanos: int,
) -> Denial:
    """Why this window refuses the request: its token limit if that is passed,
    else its USD limit."""
    token_limit, cost_limit = policy.effective_limits(request.critical)
    over_tokens, _ = over_limits(policy, counters, request.tokens, nanos, request.critical)
    common = {
        "budget_id": policy.budget_id,
        "policy_id": policy.policy_id,
        "policy_name": policy.name,
        "window_key": span.key,
        "resets_at": span.ends_at,
    }
    kept = not request.critical and bool(policy.critical_headroom)
    if kept:
        common["critical_headroom"] = policy.critical_headroom
    if over_request_limit(policy, counters, request.critical):
        if kept:
            common["policy_limit"] = Decimal(policy.request_limit)
        return Denial(
            limit_kind=LimitKind.REQUESTS.value,
            limit=Decimal(policy.effective_request_limit(request.critical)),
            used=Decimal(counters.used_requests),
            reserved=Decimal(0),
            requested=Decimal(1),
            **common,
        )
    if over_tokens or cost_limit is None:
        if kept:
            common["policy_limit"] = Decimal(policy.token_limit)
        return Denial(
            limit_kind=LimitKind.TOKENS.value,
            limit=token_limit,
            used=counters.used_tokens,
            reserved=counters.reserved_tokens,
            requested=request.tokens,
            **common,
        )
    if kept:
        common["policy_limit"] = nanos_to_usd(policy.cost_limit_nanos)
    return Denial(
        limit_kind=LimitKind.USD.value,
        limit=nanos_to_usd(cost_limit),
        used=nanos_to_usd(counters.used_nanos),
        reserved=nanos_to_usd(counters.reserved_nanos),
        requested=nanos_to_usd(nanos),
        **common,
    )
