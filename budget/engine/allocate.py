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

from sqlalchemy import Connection, insert

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.defaults import default_allocation_tokens
from budget.domain.enums import AlertKind, AllocationStatus, LimitKind, PolicyType, Severity, Tier
from budget.domain.models import Allocation, Policy, RequestAttributes, WindowCounters
from budget.domain.money import nanos_to_usd
from budget.domain.periods import WindowSpan
from budget.domain.prices import TokenUsage
from budget.engine.alerts import raise_alert
from budget.engine.context import EngineContext
from budget.engine.expiry import expire_allocations
from budget.engine.insight.routing import suggest_cheaper
from budget.engine.pricing import cost_of, resolve_tier
from budget.engine.windows import (
    Target,
    add_reserved,
    ensure_windows,
    matching_spans,
    read_counters,
    reserve_within_limit,
)
from budget.errors import BudgetExceeded, Denial, PriceUnknown
from budget.events import emit as events
from budget.storage import tables as t
from budget.storage.mapping import attributes_to_columns, row_to_allocation
from budget.storage.sql import lock_rows, new_id


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
    )


def allocate(ctx: EngineContext, request: AllocationRequest) -> Allocation:
    """Reserve for one call on every window that covers it, or raise BudgetExceeded."""
    now = utcnow()
    created: dict[tuple[str, str], int] = {}

    def work(conn: Connection):
        created.clear()
        ctx.refresh(conn)
        nanos, priced = reservation_cost(ctx, request, now)
        spans = matching_spans(ctx, request.attributes, now)
        targets = ensure_windows(ctx, conn, spans, now, created)
        _require_price_for_hard_usd(request, targets, priced)
        # Every writer locks windows in id order (PostgreSQL), so none deadlock.
        lock_rows(conn, t.windows, [x.window_id for x in targets])
        _reserve_hard(conn, targets, request, nanos, now)
        over_soft = _reserve_rest(conn, targets, request, nanos)
        recommended = None
        if over_soft:
            recommended = suggest_cheaper(ctx, request.attributes, now, conn)
        allocation = _insert(conn, request, targets, nanos, now, over_soft, recommended)
        events.allocation_created(conn, allocation, targets, now)
        return allocation

    try:
        allocation = ctx.db.run_write(work)
    except BudgetExceeded as denied:
        _record_denial(ctx, denied, now)
        raise
    except PriceUnknown as unknown:
        _record_unpriced(ctx, unknown, now)
        raise
    ctx.window_ids.update(created)
    return allocation


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
    cost = cost_of(price, usage, at)
    return (0, False) if cost is None else (cost.total_nanos, True)


def _require_price_for_hard_usd(
    request: AllocationRequest, targets: list[Target], priced: bool
) -> None:
    if priced:
        return
    for target in targets:
        if target.is_hard and target.policy.cost_limit_nanos is not None:
            attrs = request.attributes
            raise PriceUnknown(attrs.provider or "", attrs.model or "", target.policy.policy_id)


def _reserve_hard(
    conn: Connection, targets: list[Target], request: AllocationRequest, nanos: int, now: datetime
) -> None:
    hard = sorted((x for x in targets if x.is_hard), key=lambda x: x.window_id)
    for target in hard:
        if reserve_within_limit(conn, target, request.tokens, nanos, request.critical):
            continue
        # Expired allocations may still hold this window: return them, then retry once.
        if expire_allocations(conn, now, window_id=target.window_id) and reserve_within_limit(
            conn, target, request.tokens, nanos, request.critical
        ):
            continue
        raise BudgetExceeded([_denial(conn, target, request, nanos)])


def _denial(conn: Connection, target: Target, request: AllocationRequest, nanos: int) -> Denial:
    counters = read_counters(conn, target.window_id)
    return denial_of(target.policy, target.span, counters, request, nanos)


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
    if over_tokens or cost_limit is None:
        return Denial(
            limit_kind=LimitKind.TOKENS.value,
            limit=token_limit,
            used=counters.used_tokens,
            reserved=counters.reserved_tokens,
            requested=request.tokens,
            **common,
        )
    return Denial(
        limit_kind=LimitKind.USD.value,
        limit=nanos_to_usd(cost_limit),
        used=nanos_to_usd(counters.used_nanos),
        reserved=nanos_to_usd(counters.reserved_nanos),
        requested=nanos_to_usd(nanos),
        **common,
    )


def _reserve_rest(
    conn: Connection, targets: list[Target], request: AllocationRequest, nanos: int
) -> bool:
    """Reserve on the windows that never refuse; True if a soft limit is passed."""
    rest = [x for x in targets if not x.is_hard]
    after = add_reserved(conn, [x.window_id for x in rest], request.tokens, nanos)
    # The counters already include this request: passing means over after it.
    return any(
        any(over_limits(x.policy, after[x.window_id], 0, 0, request.critical))
        for x in rest
        if x.policy.type is PolicyType.SOFT_LIMIT
    )


_INSERT = insert(t.allocations)
_INSERT_WINDOWS = insert(t.allocation_windows)


def _insert(
    conn: Connection,
    request: AllocationRequest,
    targets: list[Target],
    nanos: int,
    now: datetime,
    over_soft: bool,
    recommended: str | None,
) -> Allocation:
    values = {
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
    conn.execute(_INSERT, values)
    if targets:
        conn.execute(
            _INSERT_WINDOWS,
            [{"allocation_id": values["id"], "window_id": x.window_id} for x in targets],
        )
    return row_to_allocation(SimpleNamespace(**values))


def _record_denial(ctx: EngineContext, denied: BudgetExceeded, now: datetime) -> None:
    with ctx.db.write() as conn:
        for d in denied.denials:
            new = raise_alert(
                conn,
                kind=AlertKind.DENIED,
                severity=Severity.CRITICAL,
                dedup_key=f"denied:{d.policy_id}:{d.window_key}",
                message=f"allocation denied: {d.describe()}",
                budget_id=d.budget_id,
                policy_id=d.policy_id,
                window=d.window_key,
                details=d.to_dict(),
                now=now,
            )
            if new:
                events.allocation_denied(conn, d, now)


def _record_unpriced(ctx: EngineContext, unknown: PriceUnknown, now: datetime) -> None:
    with ctx.db.write() as conn:
        raise_unpriced_alert(conn, unknown.provider, unknown.model, now)


def raise_unpriced_alert(conn: Connection, provider: str, model: str, now: datetime) -> None:
    """One alert (and event) per unpriced model and day: its usage is counted but not costed."""
    new = raise_alert(
        conn,
        kind=AlertKind.UNPRICED_MODEL,
        severity=Severity.WARNING,
        dedup_key=f"unpriced:{provider}:{model}:{now.date().isoformat()}",
        message=(
            f"model {model!r} of provider {provider!r} has no known price: its usage is "
            "recorded as unpriced (not $0) until a price is set"
        ),
        details={"provider": provider, "model": model},
        now=now,
    )
    if new:
        events.unpriced_model(conn, provider, model, now)
