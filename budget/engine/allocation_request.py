"""A request to reserve before a call: validated, and priced for its reservation.

Allocate reserves it, check tries it without reserving, routing tries it on
other models: all three start here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from budget.domain import validation as v
from budget.domain.defaults import default_allocation_tokens
from budget.domain.enums import PolicyType, Tier
from budget.domain.models import Policy, RequestAttributes
from budget.domain.prices import TokenUsage
from budget.engine.context import EngineContext
from budget.engine.pricing import cost_of, resolve_tier, valid_service_tier
from budget.errors import PriceUnknown


@dataclass(frozen=True)
class AllocationRequest:
    """A validated request to reserve before a call."""

    context_id: str
    attributes: RequestAttributes
    priority: int
    tokens: int
    input_tokens: int | None
    output_tokens: int | None
    ttl: timedelta
    metadata: dict[str, Any]
    #: The service tier the reservation is priced at (the call's own tier).
    service_tier: str = "standard"

    @property
    def critical(self) -> bool:
        return self.priority >= 10


def build_request(
    ctx: EngineContext,
    *,
    context_id: Any,
    provider: Any = None,
    model: Any = None,
    input_tokens: Any = None,
    max_output_tokens: Any = None,
    tokens: Any = None,
    priority: Any = 5,
    tier: Any = None,
    component: Any = None,
    project: Any = None,
    user: Any = None,
    api_key: Any = None,
    task_type: Any = None,
    tags: Any = None,
    session_id: Any = None,
    task_id: Any = None,
    ttl_seconds: Any = None,
    metadata: Any = None,
    service_tier: Any = None,
) -> AllocationRequest:
    """Validate the arguments of ``allocate`` into a request."""
    context = v.text("context_id", context_id, required=True, max_len=300)
    prio = v.priority("priority", priority)
    inputs = v.tokens("input_tokens", input_tokens)
    outputs = v.tokens("max_output_tokens", max_output_tokens)
    total = v.positive_tokens("tokens", tokens)
    task = v.text("task_type", task_type, max_len=100)
    if total is None:
        total = (
            (inputs or 0) + (outputs or 0)
            if inputs is not None or outputs is not None
            else default_allocation_tokens(task, prio)
        )
    if total <= 0:
        raise v.ValidationError(
            "max_output_tokens", max_output_tokens, "an allocation must hold at least one token"
        )
    ttl = ctx.settings.allocation_ttl_seconds if ttl_seconds is None else ttl_seconds
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= 31 * 86400:
        raise v.ValidationError("ttl_seconds", ttl_seconds, "must be 1 to 2678400 seconds")
    provider_name = v.provider("provider", provider)
    model_name = v.model("model", model)
    attrs = RequestAttributes(
        component=v.text("component", component),
        project=v.text("project", project),
        user=v.text("user", user),
        api_key=v.text("api_key", api_key),
        provider=provider_name,
        model=model_name,
        tier=resolve_tier(
            ctx.settings, v.choice("tier", tier, Tier, required=False), provider_name, model_name
        ),
        task_type=task,
        tags=v.tag_set("tags", tags),
        session_id=v.text("session_id", session_id, max_len=300) or context,
        task_id=v.text("task_id", task_id, max_len=300) or context,
    )
    return AllocationRequest(
        context,
        attrs,
        prio,
        total,
        inputs,
        outputs,
        timedelta(seconds=ttl),
        v.metadata("metadata", metadata),
        valid_service_tier(service_tier),
    )


def reservation_cost(
    ctx: EngineContext,
    request: AllocationRequest,
    at: datetime,
) -> tuple[int, bool]:
    """Nano-USD to hold: input at the input rate, the output cap at the output
    rate; a bare token count is priced as output (the dearer kind)."""
    attrs = request.attributes
    if not attrs.provider or not attrs.model:
        return 0, False
    price = ctx.catalog.lookup(attrs.provider, attrs.model, at)
    if request.input_tokens is None and request.output_tokens is None:
        usage = TokenUsage(output_tokens=request.tokens)
    else:
        outputs = max(request.tokens - (request.input_tokens or 0), 0)
        usage = TokenUsage(input_tokens=request.input_tokens or 0, output_tokens=outputs)
    cost = cost_of(price, usage, at, request.service_tier)
    return (0, False) if cost is None else (cost.total_nanos, True)


def require_price_for_hard_usd(
    request: AllocationRequest, policies: list[Policy], priced: bool
) -> None:
    """Refuse, as PriceUnknown, a model without a price that meets a hard USD
    limit (it cannot be checked); ``check`` refuses it the same way."""
    if priced:
        return
    for policy in policies:
        if policy.type is PolicyType.HARD_LIMIT and policy.cost_limit_nanos is not None:
            attrs = request.attributes
            raise PriceUnknown(attrs.provider or "", attrs.model or "", policy.policy_id)
