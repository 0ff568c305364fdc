"""Rows to domain entities and back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from budget.domain.enums import AlertKind, AllocationStatus, Period, PolicyType, Severity, Tier
from budget.domain.models import (
    Alert,
    Allocation,
    Budget,
    Policy,
    RequestAttributes,
    ScopeFilter,
    UsageRecord,
)
from budget.domain.money import nanos_to_usd
from budget.domain.prices import COST_PARTS


def scope_to_columns(scope: ScopeFilter | RequestAttributes) -> dict[str, Any]:
    """The scope columns (component … tags) of a policy's filter or a request."""
    return {
        "component": scope.component,
        "project": scope.project,
        "user_id": scope.user,
        "api_key": scope.api_key,
        "provider": scope.provider,
        "model": scope.model,
        "tier": scope.tier.value if scope.tier else None,
        "task_type": scope.task_type,
        "tags": sorted(scope.tags),
    }


#: The scope columns of the policies table (and of the ledger).
SCOPE_COLUMNS = tuple(scope_to_columns(ScopeFilter()))

#: A request's attributes land in the same columns as a policy's scope.
attributes_to_columns = scope_to_columns


def _scope_kwargs(row: Row) -> dict[str, Any]:
    return {
        "component": row.component,
        "project": row.project,
        "user": row.user_id,
        "api_key": row.api_key,
        "provider": row.provider,
        "model": row.model,
        "tier": Tier(row.tier) if row.tier else None,
        "task_type": row.task_type,
        "tags": frozenset(row.tags or ()),
    }


def row_to_attributes(row: Row) -> RequestAttributes:
    return RequestAttributes(
        **_scope_kwargs(row),
        session_id=getattr(row, "session_id", None),
        task_id=getattr(row, "task_id", None),
    )


def row_to_budget(row: Row) -> Budget:
    return Budget(
        budget_id=row.id,
        name=row.name,
        description=row.description,
        owner=row.owner,
        active=row.active,
        metadata=dict(row.metadata or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def row_to_policy(row: Row) -> Policy:
    return Policy(
        policy_id=row.id,
        budget_id=row.budget_id,
        name=row.name,
        type=PolicyType(row.type),
        period=Period(row.period),
        timezone=row.timezone,
        scope=ScopeFilter(**_scope_kwargs(row)),
        token_limit=row.token_limit,
        cost_limit_nanos=row.cost_limit_nanos,
        warning_thresholds=tuple(Decimal(t) for t in row.warning_thresholds or ()),
        action_threshold=Decimal(row.action_threshold) if row.action_threshold else None,
        critical_headroom=Decimal(row.critical_headroom or "0"),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        count_existing=row.count_existing,
        request_limit=row.request_limit,
        each=tuple(row.each or ()),
    )


def row_to_allocation(row: Row) -> Allocation:
    return Allocation(
        allocation_id=row.id,
        context_id=row.context_id,
        attributes=row_to_attributes(row),
        priority=row.priority,
        tokens_requested=row.tokens_requested,
        tokens_reserved=row.tokens_reserved,
        cost_reserved=nanos_to_usd(row.nanos_reserved),
        tokens_remaining=row.tokens_remaining,
        cost_remaining=nanos_to_usd(row.nanos_remaining),
        tokens_used=row.tokens_used,
        cost_used=nanos_to_usd(row.nanos_used),
        status=AllocationStatus(row.status),
        expires_at=row.expires_at,
        created_at=row.created_at,
        closed_at=row.closed_at,
        over_soft_limit=row.over_soft_limit,
        recommended_model=row.recommended_model,
        policy_ids=tuple(row.policy_ids or ()),
        metadata=dict(row.metadata or {}),
    )


def row_to_usage(row: Row) -> UsageRecord:
    breakdown = None
    if row.priced and row.input_nanos is not None:  # an adjust of the cost has no parts
        breakdown = {part: nanos_to_usd(getattr(row, f"{part}_nanos") or 0) for part in COST_PARTS}
        breakdown["total"] = nanos_to_usd(row.cost_nanos)
    return UsageRecord(
        usage_id=row.id,
        request_id=row.request_id,
        allocation_id=row.allocation_id,
        context_id=row.context_id,
        attributes=row_to_attributes(row),
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_input_tokens=row.cached_input_tokens,
        cache_write_tokens=row.cache_write_tokens,
        reasoning_tokens=row.reasoning_tokens,
        cost=nanos_to_usd(row.cost_nanos) if row.priced else None,
        cost_breakdown=breakdown,
        priced=row.priced,
        price_id=row.price_id,
        latency_ms=row.latency_ms,
        metadata=dict(row.metadata or {}),
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        kind=getattr(row, "kind", None) or "usage",
        corrects_id=getattr(row, "corrects_id", None),
        reason=getattr(row, "reason", None),
        cache_write_1h_tokens=getattr(row, "cache_write_1h_tokens", None) or 0,
        service_tier=getattr(row, "service_tier", None) or "standard",
        price_source=getattr(row, "price_source", None),
        price_verification=getattr(row, "price_verification", None),
    )


def row_to_alert(row: Row) -> Alert:
    return Alert(
        alert_id=row.id,
        kind=AlertKind(row.kind),
        severity=Severity(row.severity),
        message=row.message,
        budget_id=row.budget_id,
        policy_id=row.policy_id,
        window=row.window_key,
        threshold=Decimal(row.threshold) if row.threshold else None,
        details=dict(row.details or {}),
        created_at=row.created_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )
