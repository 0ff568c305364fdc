"""REST answers back as the library's domain objects.

The inverse of the response schemas' ``of()`` methods in ``budget.api``:
money from decimal text to ``Decimal``, date-times from ISO-8601, closed
vocabularies to their enums, so a result compares equal to the library's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.enums import AlertKind, AllocationStatus, Period, PolicyType, Severity, Tier
from budget.domain.models import (
    Alert,
    Allocation,
    Budget,
    BudgetSummary,
    CostEstimate,
    PastWindow,
    Policy,
    RequestAttributes,
    ScopeFilter,
    UsageRecord,
    WindowStatus,
)
from budget.domain.money import usd_to_nanos
from budget.engine.check import CheckResult
from budget.engine.service import Listing
from budget.remote.errors import denial_of


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _at(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _tier(value: Any) -> Tier | None:
    return None if value is None else Tier(value)


def _money_map(value: dict[str, Any] | None) -> dict[str, Decimal] | None:
    return None if value is None else {k: Decimal(v) for k, v in value.items()}


def nothing(_: Any) -> None:
    return None


def page(item: Any) -> Any:
    """A parser of a ``Page`` of items into a :class:`Listing` with its total."""

    def parse(body: dict[str, Any]) -> Listing:
        return Listing([item(x) for x in body["items"]], body["total"])

    return parse


def many(item: Any) -> Any:
    """A parser of a JSON list of items."""

    def parse(body: list[Any]) -> list[Any]:
        return [item(x) for x in body]

    return parse


def budget(d: dict[str, Any]) -> Budget:
    return Budget(
        budget_id=d["budget_id"],
        name=d["name"],
        description=d["description"],
        owner=d["owner"],
        active=d["active"],
        metadata=d["metadata"],
        created_at=_at(d["created_at"]),
        updated_at=_at(d["updated_at"]),
    )


def policy(d: dict[str, Any]) -> Policy:
    s = d["scope"]
    return Policy(
        policy_id=d["policy_id"],
        budget_id=d["budget_id"],
        name=d["name"],
        type=PolicyType(d["type"]),
        period=Period(d["period"]),
        timezone=d["timezone"],
        scope=ScopeFilter(
            component=s.get("component"),
            project=s.get("project"),
            user=s.get("user"),
            api_key=s.get("api_key"),
            provider=s.get("provider"),
            model=s.get("model"),
            tier=_tier(s.get("tier")),
            task_type=s.get("task_type"),
            tags=frozenset(s.get("tags") or ()),
        ),
        token_limit=d["token_limit"],
        cost_limit_nanos=None
        if d["cost_limit"] is None
        else usd_to_nanos(Decimal(d["cost_limit"])),
        warning_thresholds=tuple(Decimal(x) for x in d["warning_thresholds"]),
        action_threshold=_dec(d["action_threshold"]),
        critical_headroom=Decimal(d["critical_headroom"]),
        starts_at=_at(d["starts_at"]),
        ends_at=_at(d["ends_at"]),
        enabled=d["enabled"],
        created_at=_at(d["created_at"]),
        updated_at=_at(d["updated_at"]),
        count_existing=d["count_existing"],
        request_limit=d.get("request_limit"),
        each=tuple(d.get("each") or ()),
    )


def attributes(d: dict[str, Any]) -> RequestAttributes:
    return RequestAttributes(
        component=d.get("component"),
        project=d.get("project"),
        user=d.get("user"),
        api_key=d.get("api_key"),
        provider=d.get("provider"),
        model=d.get("model"),
        tier=_tier(d.get("tier")),
        task_type=d.get("task_type"),
        tags=frozenset(d.get("tags") or ()),
        session_id=d.get("session_id"),
        task_id=d.get("task_id"),
    )


def allocation(d: dict[str, Any]) -> Allocation:
    return Allocation(
        allocation_id=d["allocation_id"],
        context_id=d["context_id"],
        attributes=attributes(d["attributes"]),
        priority=d["priority"],
        tokens_requested=d["tokens_requested"],
        tokens_reserved=d["tokens_reserved"],
        cost_reserved=Decimal(d["cost_reserved"]),
        tokens_remaining=d["tokens_remaining"],
        cost_remaining=Decimal(d["cost_remaining"]),
        tokens_used=d["tokens_used"],
        cost_used=Decimal(d["cost_used"]),
        status=AllocationStatus(d["status"]),
        expires_at=_at(d["expires_at"]),
        created_at=_at(d["created_at"]),
        closed_at=_at(d["closed_at"]),
        over_soft_limit=d["over_soft_limit"],
        recommended_model=d["recommended_model"],
        policy_ids=tuple(d["policy_ids"]),
        metadata=d["metadata"],
    )


def usage(d: dict[str, Any]) -> UsageRecord:
    return UsageRecord(
        usage_id=d["usage_id"],
        request_id=d["request_id"],
        allocation_id=d["allocation_id"],
        context_id=d["context_id"],
        attributes=attributes(d["attributes"]),
        input_tokens=d["input_tokens"],
        output_tokens=d["output_tokens"],
        cached_input_tokens=d["cached_input_tokens"],
        cache_write_tokens=d["cache_write_tokens"],
        reasoning_tokens=d["reasoning_tokens"],
        cost=_dec(d["cost"]),
        cost_breakdown=_money_map(d["cost_breakdown"]),
        priced=d["priced"],
        price_id=d["price_id"],
        latency_ms=d["latency_ms"],
        metadata=d["metadata"],
        occurred_at=_at(d["occurred_at"]),
        recorded_at=_at(d["recorded_at"]),
        kind=d.get("kind", "usage"),
        corrects_id=d.get("corrects_id"),
        reason=d.get("reason"),
        cache_write_1h_tokens=d.get("cache_write_1h_tokens", 0),
        service_tier=d.get("service_tier", "standard"),
        price_source=d.get("price_source"),
        price_verification=d.get("price_verification"),
    )


def totals(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "records": d["records"],
        "tokens": d["tokens"],
        "cost": Decimal(d["cost"]),
        "unpriced_records": d["unpriced_records"],
    }


def window(d: dict[str, Any]) -> WindowStatus:
    return WindowStatus(
        policy_id=d["policy_id"],
        policy_name=d["policy_name"],
        policy_type=PolicyType(d["policy_type"]),
        period=Period(d["period"]),
        window=d["window"],
        starts_at=_at(d["starts_at"]),
        resets_at=_at(d["resets_at"]),
        token_limit=d["token_limit"],
        tokens_used=d["tokens_used"],
        tokens_reserved=d["tokens_reserved"],
        tokens_remaining=d["tokens_remaining"],
        cost_limit=_dec(d["cost_limit"]),
        cost_used=Decimal(d["cost_used"]),
        cost_reserved=Decimal(d["cost_reserved"]),
        cost_remaining=_dec(d["cost_remaining"]),
        utilization=_dec(d["utilization"]),
        state=d.get("state", "active"),
        unpriced_records=d.get("unpriced_records"),
        unpriced_tokens=d.get("unpriced_tokens"),
        request_limit=d.get("request_limit"),
        requests_used=d.get("requests_used", 0),
        subject=d.get("subject"),
        subject_windows=d.get("subject_windows"),
    )


def summary(d: dict[str, Any]) -> BudgetSummary:
    return BudgetSummary(
        budget=budget(d["budget"]),
        windows=tuple(window(w) for w in d["windows"]),
        as_of=_at(d["as_of"]),
    )


def past_window(d: dict[str, Any]) -> PastWindow:
    return PastWindow(
        window=d["window"],
        starts_at=_at(d["starts_at"]),
        ends_at=_at(d["ends_at"]),
        tokens_used=d["tokens_used"],
        cost_used=Decimal(d["cost_used"]),
        token_limit=d["token_limit"],
        cost_limit=_dec(d["cost_limit"]),
        peak_fill=_dec(d["peak_fill"]),
        superseded_at=_at(d["superseded_at"]),
        subject=d.get("subject"),
    )


def check_result(d: dict[str, Any]) -> CheckResult:
    return CheckResult(
        allowed=d["allowed"],
        tokens=d["tokens"],
        estimated_cost=_dec(d["estimated_cost"]),
        denials=tuple(denial_of(x) for x in d["denials"]),
        over_soft_limit=d["over_soft_limit"],
        recommended_model=d["recommended_model"],
        policy_ids=tuple(d["policy_ids"]),
    )


def alert(d: dict[str, Any]) -> Alert:
    return Alert(
        alert_id=d["alert_id"],
        kind=AlertKind(d["kind"]),
        severity=Severity(d["severity"]),
        message=d["message"],
        budget_id=d["budget_id"],
        policy_id=d["policy_id"],
        window=d["window"],
        threshold=_dec(d["threshold"]),
        details=d["details"],
        created_at=_at(d["created_at"]),
        acknowledged_by=d["acknowledged_by"],
        acknowledged_at=_at(d["acknowledged_at"]),
    )


def estimate(d: dict[str, Any]) -> CostEstimate:
    return CostEstimate(
        provider=d["provider"],
        model=d["model"],
        priced=d["priced"],
        cost=_dec(d["cost"]),
        breakdown=_money_map(d["breakdown"]),
        price_source=d["price_source"],
        price_id=d["price_id"],
        price_verification=d.get("price_verification"),
        service_tier=d.get("service_tier", "standard"),
        unpriced_reason=d.get("unpriced_reason"),
        price_rule=d.get("price_rule"),
        price_hint=d.get("price_hint"),
    )
