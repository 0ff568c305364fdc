"""Allocate: check every matching policy and reserve on all its windows, or on none.

The decision (DESIGN.md, "Allocate: the decision"):
1. tier: given, else from the model, else from the provider, else the highest;
2. matching policies: enabled, in date range, every non-empty filter equal;
3. hard_limit: reserve on every matching window atomically, or on none;
4. soft_limit: granted, marked over the soft limit, with a cheaper model;
5. warn and ignore: granted and counted (alerts come from usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.defaults import default_allocation_tokens
from budget.domain.enums import AllocationStatus, PolicyType, Tier
from budget.domain.models import Allocation, Policy, RequestAttributes
from budget.domain.prices import TokenUsage
from budget.engine.alerts import record_denial, record_unpriced
from budget.engine.context import VERSIONS_SQL, EngineContext, Held, StaleCache
from budget.engine.denials import denial_of, over_limits, over_request_limit
from budget.engine.expiry import expire_allocations
from budget.engine.insight.routing import suggest_cheaper
from budget.engine.pricing import cost_of, resolve_tier, valid_service_tier
from budget.engine.windows import (
    Target,
    current_counters,
    ensure_windows,
    matching_spans,
    window_targets,
)
from budget.errors import BudgetExceeded, PriceUnknown, StorageError
from budget.events import emit as events
from budget.storage import allocations as store_allocations
from budget.storage import windows as store_windows
from budget.storage.batch import pipeline, statements
from budget.storage.mapping import attributes_to_columns, row_to_allocation
from budget.storage.sql import new_id
from budget.storage.windows import counters_by_id


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


def allocate(ctx: EngineContext, request: AllocationRequest) -> Allocation:
    """Reserve for one call on every window that covers it, or raise BudgetExceeded."""
    now = utcnow()
    expired_first = reloaded = False
    for _ in range(8):
        try:
            allocation, targets = _try_allocate(ctx, request, now)
        except StaleCache:
            ctx.reload()
            reloaded = True
            continue
        except _Refused as refused:
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


class _Refused(Exception):
    def __init__(self, targets: list[Target], nanos: int) -> None:
        super().__init__("refused")
        self.targets = targets
        self.nanos = nanos


def _try_allocate(
    ctx: EngineContext, request: AllocationRequest, now: datetime
) -> tuple[Allocation, list[Target]]:
    """One attempt with the cached policies and prices, checked in the transaction."""
    expected = ctx.versions()
    nanos, priced = reservation_cost(ctx, request, now)
    spans = matching_spans(ctx, request.attributes, now, gate=True)
    require_price_for_hard_usd(request, [p for p, _ in spans], priced)
    ensure_windows(ctx, spans, now)
    created: dict[tuple[str, str], int] = {}
    targets: list[Target] = []

    def work(conn: Connection) -> Allocation:
        created.clear()
        targets[:] = window_targets(ctx, conn, spans, now, created)
        by_id = sorted(targets, key=lambda x: x.window_id)
        ids = [x.window_id for x in by_id]
        limits = [_limits(x, request.critical) for x in by_id]
        with pipeline(conn) as s:
            versions = s.run(VERSIONS_SQL)
            store_windows.lock(s, ids)
            reserved = store_windows.reserve(s, limits, request.tokens, nanos) if ids else None
            after = counters_by_id(s.fetchall(reserved)) if reserved is not None else {}
            ctx.check_versions(s.fetchall(versions), expected)
        refused = [x for x in targets if x.is_hard and x.window_id not in after]
        if refused:
            raise _Refused(refused, nanos)
        over_soft = any(
            any(over_limits(x.policy, after[x.window_id], 0, 0, request.critical))
            or over_request_limit(x.policy, after[x.window_id], request.critical, adding=0)
            for x in targets
            if x.policy.type is PolicyType.SOFT_LIMIT
        )
        recommended = suggest_cheaper(ctx, request.attributes, now, conn) if over_soft else None
        values = _values(request, targets, nanos, now, over_soft, recommended)
        store_allocations.insert(statements(conn), values, ids)
        allocation = row_to_allocation(SimpleNamespace(**values))
        events.allocation_created(conn, allocation, targets, now)
        return allocation

    allocation = ctx.db.run_write(work)
    ctx.window_ids.update(created)
    return allocation, targets


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


def _expire_holding(ctx: EngineContext, targets: list[Target], now: datetime) -> int:
    """Expire overdue allocations that hold these windows; how many were."""
    return sum(
        ctx.db.run_write(lambda conn, x=x: expire_allocations(conn, now, window_id=x.window_id))
        for x in targets
    )


def _denied(
    ctx: EngineContext, targets: list[Target], request: AllocationRequest, nanos: int
) -> BudgetExceeded:
    with ctx.db.read() as conn:
        denials = [
            denial_of(x.policy, x.span, current_counters(conn, x.policy, x.span), request, nanos)
            for x in targets
        ]
    return BudgetExceeded(denials)


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


def _values(
    request: AllocationRequest,
    targets: list[Target],
    nanos: int,
    now: datetime,
    over_soft: bool,
    recommended: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id("alc"),
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
