"""Request and response models of allocations, usage, alerts and
API keys (the budget and policy models and the shared types are in ``schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from pydantic import Strict as StrictType

from budget.api.schemas import (
    MAX_TOKENS,
    Id,
    Instant,
    Metadata,
    ScopeFields,
    ScopeOut,
    Strict,
    Text,
    Tokens,
    Usd,
    money,
    money_parts,
)
from budget.api.schemas_declared import declared
from budget.domain import models as m
from budget.domain.enums import AlertKind, AllocationStatus, Severity

#: A service tier a call is served and billed at.
ServiceTierName = Literal["standard", "batch", "flex", "priority"]

# --- allocations -----------------------------------------------------------------


class RequestFields(ScopeFields):
    context_id: Id
    input_tokens: Tokens | None = None
    max_output_tokens: Tokens | None = None
    tokens: Annotated[int, StrictType(), Field(gt=0, le=MAX_TOKENS)] | None = None
    priority: (
        Annotated[int, StrictType(), Field(ge=1, le=10)]
        | Literal["low", "normal", "high", "critical"]
    ) = 5
    session_id: declared("session_id") | None = None
    task_id: declared("task_id") | None = None
    ttl_seconds: Annotated[int, StrictType(), Field(ge=1, le=31 * 86400)] | None = None
    metadata: Metadata = Field(default_factory=dict)
    service_tier: ServiceTierName | None = Field(
        None, description="The service tier the reservation is priced at (default standard)."
    )


class AllocationIn(RequestFields):
    """Reserve before a call (check-and-reserve, atomic)."""


class CheckIn(RequestFields):
    """The same request as an allocation; nothing is reserved."""

    context_id: Id = "dry-run"


class AttributesOut(ScopeOut):
    session_id: str | None = None
    task_id: str | None = None

    @classmethod
    def of(cls, a: m.RequestAttributes) -> AttributesOut:
        return cls(
            component=a.component,
            project=a.project,
            user=a.user,
            api_key=a.api_key,
            provider=a.provider,
            model=a.model,
            tier=a.tier,
            task_type=a.task_type,
            tags=sorted(a.tags),
            session_id=a.session_id,
            task_id=a.task_id,
        )


class AllocationOut(BaseModel):
    allocation_id: str
    context_id: str
    attributes: AttributesOut
    priority: int
    tokens_requested: int
    tokens_reserved: int
    cost_reserved: str
    tokens_remaining: int
    cost_remaining: str
    tokens_used: int
    cost_used: str
    status: AllocationStatus
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None
    over_soft_limit: bool
    recommended_model: str | None
    policy_ids: list[str]
    metadata: dict[str, Any]

    @classmethod
    def of(cls, a: m.Allocation) -> AllocationOut:
        return cls(
            allocation_id=a.allocation_id,
            context_id=a.context_id,
            attributes=AttributesOut.of(a.attributes),
            priority=a.priority,
            tokens_requested=a.tokens_requested,
            tokens_reserved=a.tokens_reserved,
            cost_reserved=money(a.cost_reserved) or "0",
            tokens_remaining=a.tokens_remaining,
            cost_remaining=money(a.cost_remaining) or "0",
            tokens_used=a.tokens_used,
            cost_used=money(a.cost_used) or "0",
            status=a.status,
            expires_at=a.expires_at,
            created_at=a.created_at,
            closed_at=a.closed_at,
            over_soft_limit=a.over_soft_limit,
            recommended_model=a.recommended_model,
            policy_ids=list(a.policy_ids),
            metadata=a.metadata,
        )


class SweepOut(BaseModel):
    expired: int


class DenialOut(BaseModel):
    budget_id: str
    policy_id: str
    policy_name: str
    window: str
    limit_kind: str
    limit: str
    used: str
    reserved: str
    requested: str
    resets_at: datetime | None
    policy_limit: str | None = Field(
        default=None,
        description="With a critical headroom: the policy's own limit (limit is the share "
        "a non-critical request may fill).",
    )
    critical_headroom: str | None = None


class CheckOut(BaseModel):
    allowed: bool
    tokens: int
    estimated_cost: str | None
    denials: list[DenialOut]
    over_soft_limit: bool
    recommended_model: str | None
    policy_ids: list[str]

    @classmethod
    def of(cls, c) -> CheckOut:
        return cls(
            allowed=c.allowed,
            tokens=c.tokens,
            estimated_cost=money(c.estimated_cost),
            denials=[DenialOut(**d.to_dict()) for d in c.denials],
            over_soft_limit=c.over_soft_limit,
            recommended_model=c.recommended_model,
            policy_ids=list(c.policy_ids),
        )


# --- usage -----------------------------------------------------------------------


class UsageIn(ScopeFields):
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cached_input_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    cache_write_1h_tokens: Tokens = Field(
        0, description="How many of cache_write_tokens were 1-hour cache writes."
    )
    service_tier: ServiceTierName | None = Field(
        None, description="standard (default), batch, flex or priority."
    )
    allocation_id: declared("allocation_id", min_length=0) | None = None
    request_id: declared("request_id") | None = None
    context_id: Id | None = None
    session_id: declared("session_id") | None = None
    task_id: declared("task_id") | None = None
    latency_ms: Annotated[int, StrictType(), Field(ge=0, le=10**9)] | None = None
    metadata: Metadata = Field(default_factory=dict)
    occurred_at: Instant | None = None
    release: Annotated[bool, StrictType()] = Field(
        False,
        description=(
            "Release the allocation in the same transaction: what it did not use "
            "returns to its windows (needs allocation_id)."
        ),
    )


class UsageBatchIn(Strict):
    items: Annotated[list[UsageIn], Field(min_length=1, max_length=1000)]


class UsageOut(BaseModel):
    usage_id: str
    request_id: str | None
    allocation_id: str | None
    context_id: str | None
    attributes: AttributesOut
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    total_tokens: int
    priced: bool
    cost: str | None
    cost_breakdown: dict[str, str] | None
    price_id: int | None
    cache_write_1h_tokens: int = 0
    service_tier: str = "standard"
    price_source: str | None = None
    price_verification: str | None = None
    latency_ms: int | None
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    kind: Literal["usage", "void", "adjust"] = Field(
        "usage",
        description="usage, or a correction (void, adjust) of corrects_id: "
        "its amounts are the change it makes",
    )
    corrects_id: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, u: m.UsageRecord) -> UsageOut:
        return cls(
            usage_id=u.usage_id,
            request_id=u.request_id,
            allocation_id=u.allocation_id,
            context_id=u.context_id,
            attributes=AttributesOut.of(u.attributes),
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cached_input_tokens=u.cached_input_tokens,
            cache_write_tokens=u.cache_write_tokens,
            reasoning_tokens=u.reasoning_tokens,
            total_tokens=u.total_tokens,
            priced=u.priced,
            cost=money(u.cost),
            cost_breakdown=money_parts(u.cost_breakdown),
            price_id=u.price_id,
            cache_write_1h_tokens=u.cache_write_1h_tokens,
            service_tier=u.service_tier,
            price_source=u.price_source,
            price_verification=u.price_verification,
            latency_ms=u.latency_ms,
            metadata=u.metadata,
            occurred_at=u.occurred_at,
            recorded_at=u.recorded_at,
            kind=u.kind,
            corrects_id=u.corrects_id,
            reason=u.reason,
        )


Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]


class VoidIn(Strict):
    """Cancel a usage record with a compensating entry."""

    reason: Reason
    request_id: declared("request_id") | None = Field(
        None, description="Idempotency key; by default a repeated void returns the first."
    )


class AdjustIn(Strict):
    """What the usage record should say: its cost and/or token counts."""

    reason: Reason
    request_id: declared("request_id") | None = None
    cost: Usd | None = Field(None, description="The new cost in USD (priced records only).")
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cached_input_tokens: Tokens | None = None
    cache_write_tokens: Tokens | None = None
    reasoning_tokens: Tokens | None = None
    cache_write_1h_tokens: Tokens | None = None


class UsageTotalsOut(BaseModel):
    records: int
    tokens: int
    cost: str
    unpriced_records: int


# --- alerts and prices --------------------------------------------------------------


class AlertOut(BaseModel):
    alert_id: str
    kind: AlertKind
    severity: Severity
    message: str
    budget_id: str | None
    policy_id: str | None
    window: str | None
    threshold: str | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, a: m.Alert) -> AlertOut:
        return cls(
            alert_id=a.alert_id,
            kind=a.kind,
            severity=a.severity,
            message=a.message,
            budget_id=a.budget_id,
            policy_id=a.policy_id,
            window=a.window,
            threshold=None if a.threshold is None else str(a.threshold),
            details=a.details,
            created_at=a.created_at,
            acknowledged_by=a.acknowledged_by,
            acknowledged_at=a.acknowledged_at,
        )


class AcknowledgeIn(Strict):
    by: Text


# --- keys ----------------------------------------------------------------------------


class KeyIn(Strict):
    name: Text
    role: Literal["admin", "client"] = "client"
    user: declared("user") | None = Field(
        default=None, description="A client key's user: filled into its requests."
    )
    project: declared("project") | None = None
    component: declared("component") | None = None
    budgets: Annotated[list[declared("budget")], Field(max_length=50)] | None = Field(
        default=None, description="Budget ids or names a client key sees (default: all)."
    )


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: str | None = None
    project: str | None = None
    component: str | None = None
    budget_ids: list[str] | None = None


class NewKeyOut(KeyOut):
    secret: str = Field(description="Shown once; only its hash is stored.")
