"""Entities of the budget domain, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.enums import (
    AlertKind,
    AllocationStatus,
    Period,
    PolicyType,
    Severity,
    Tier,
)
from budget.domain.money import nanos_to_usd

#: The request attributes a policy can filter on (tags aside).
SCOPE_FIELDS = (
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
)


#: The values of a policy's ``each`` attributes one window counts, in the
#: policy's order: ``(("user", "alice"),)``.
Subject = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RequestAttributes:
    """Who is asking and for what: the attributes policies are matched against."""

    component: str | None = None
    project: str | None = None
    user: str | None = None
    api_key: str | None = None
    provider: str | None = None
    model: str | None = None
    tier: Tier | None = None
    task_type: str | None = None
    tags: frozenset[str] = frozenset()
    session_id: str | None = None
    task_id: str | None = None


@dataclass(frozen=True)
class ScopeFilter:
    """Which requests a policy covers; an empty field matches anything.

    ``tags`` match when the request carries every tag listed.
    """

    component: str | None = None
    project: str | None = None
    user: str | None = None
    api_key: str | None = None
    provider: str | None = None
    model: str | None = None
    tier: Tier | None = None
    task_type: str | None = None
    tags: frozenset[str] = frozenset()

    def matches(self, request: RequestAttributes) -> bool:
        for name in SCOPE_FIELDS:
            wanted = getattr(self, name)
            if wanted is not None and wanted != getattr(request, name):
                return False
        return self.tags <= request.tags

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {n: getattr(self, n) for n in SCOPE_FIELDS if getattr(self, n)}
        if self.tags:
            out["tags"] = sorted(self.tags)
        return out


@dataclass(frozen=True)
class Budget:
    """A named container of policies."""

    budget_id: str
    name: str
    description: str | None
    owner: str | None
    active: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Policy:
    """A limit on the requests its scope covers, per period instance."""

    policy_id: str
    budget_id: str
    name: str
    type: PolicyType
    period: Period
    timezone: str
    scope: ScopeFilter
    token_limit: int | None
    cost_limit_nanos: int | None
    warning_thresholds: tuple[Decimal, ...]
    action_threshold: Decimal | None
    critical_headroom: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    #: A new window starts from the ledger's spend inside it (True), or only
    #: from what is recorded after the policy was created (False).
    count_existing: bool = True
    #: Requests per window (an allocation, or usage recorded without one).
    request_limit: int | None = None
    #: Scope attributes the policy keeps a window per distinct value of
    #: (``("user",)``: every user gets the limit); empty: one window.
    each: tuple[str, ...] = ()

    def subject_of(self, request: RequestAttributes) -> Subject | None:
        """The ``each`` values a request is counted under (None when it lacks one)."""
        values = []
        for name in self.each:
            value = getattr(request, name)
            if value is None:
                return None
            values.append((name, value.value if isinstance(value, Tier) else value))
        return tuple(values)

    def missing_each(self, request: RequestAttributes) -> str | None:
        """The first ``each`` attribute the request does not name, if any."""
        return next((n for n in self.each if getattr(request, n) is None), None)

    def narrowed(self, subject: Subject) -> Policy:
        """This policy as it applies to one subject: its scope pinned to the
        subject's values, so sums over its scope count that subject alone."""
        if not subject:
            return self
        pinned = {n: Tier(v) if n == "tier" else v for n, v in subject}
        return replace(self, scope=replace(self.scope, **pinned))

    @property
    def cost_limit(self) -> Decimal | None:
        return None if self.cost_limit_nanos is None else nanos_to_usd(self.cost_limit_nanos)

    def state(self, at: datetime) -> str:
        """active, disabled, not_started (before ``starts_at``) or ended (from ``ends_at``)."""
        if not self.enabled:
            return "disabled"
        if self.starts_at is not None and at < self.starts_at:
            return "not_started"
        if self.ends_at is not None and at >= self.ends_at:
            return "ended"
        return "active"

    def in_force(self, at: datetime) -> bool:
        """Enabled and within its start/end dates at ``at``."""
        if not self.enabled:
            return False
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.ends_at is None or at < self.ends_at

    def applies_to(self, request: RequestAttributes, at: datetime) -> bool:
        return self.in_force(at) and self.scope.matches(request)

    def effective_limits(self, critical: bool) -> tuple[int | None, int | None]:
        """(token limit, cost limit in nanos) a request of this priority may fill.

        Non-critical requests stop ``critical_headroom`` short of the limit, so
        that share stays free for critical ones; the limit itself holds for all.
        """
        return self._kept(self.token_limit, critical), self._kept(self.cost_limit_nanos, critical)

    def effective_request_limit(self, critical: bool) -> int | None:
        """The request limit a request of this priority meets (headroom as above)."""
        return self._kept(self.request_limit, critical)

    def _kept(self, limit: int | None, critical: bool) -> int | None:
        if limit is None or critical or not self.critical_headroom:
            return limit
        return int(limit * (1 - self.critical_headroom))


@dataclass(frozen=True)
class WindowCounters:
    """What one window holds: tokens and nano-USD used and reserved."""

    used_tokens: int = 0
    reserved_tokens: int = 0
    used_nanos: int = 0
    reserved_nanos: int = 0
    #: Requests counted: an allocation, or usage recorded without one.
    used_requests: int = 0


@dataclass(frozen=True)
class WindowStatus:
    """One window of one policy as a summary shows it."""

    policy_id: str
    policy_name: str
    policy_type: PolicyType
    period: Period
    window: str
    starts_at: datetime | None
    resets_at: datetime | None
    token_limit: int | None
    tokens_used: int
    tokens_reserved: int
    tokens_remaining: int | None
    cost_limit: Decimal | None
    cost_used: Decimal
    cost_reserved: Decimal
    cost_remaining: Decimal | None
    utilization: Decimal | None
    #: Whether its policy applies now: active, disabled, not_started or ended.
    state: str = "active"
    #: Usage inside the window that had no price (only for a USD limit, whose
    #: counters cannot show it): how many records, how many tokens.
    unpriced_records: int | None = None
    unpriced_tokens: int | None = None
    request_limit: int | None = None
    requests_used: int = 0
    #: For a policy with ``each``: the values this window counts ({"user": "alice"}).
    subject: dict[str, str] | None = None
    #: For a policy with ``each``: how many windows it has in this period
    #: (the summary shows the fullest of them).
    subject_windows: int | None = None


@dataclass(frozen=True)
class PastWindow:
    """One window of a policy, as its history shows it."""

    window: str
    starts_at: datetime | None
    ends_at: datetime | None
    tokens_used: int
    cost_used: Decimal
    token_limit: int | None
    cost_limit: Decimal | None
    #: The highest share of a limit its usage reached (usage only grows, so
    #: this is where the window ended), None without a limit.
    peak_fill: Decimal | None
    #: Set when a change of the policy's scope or dates replaced the window.
    superseded_at: datetime | None
    #: For a policy with ``each``: the values the window counted.
    subject: dict[str, str] | None = None


@dataclass(frozen=True)
class BudgetSummary:
    """A budget with the state of each policy's current window(s)."""

    budget: Budget
    windows: tuple[WindowStatus, ...]
    as_of: datetime


@dataclass(frozen=True)
class Allocation:
    """Tokens and USD held against every matching window before a call."""

    allocation_id: str
    context_id: str
    attributes: RequestAttributes
    priority: int
    tokens_requested: int
    tokens_reserved: int
    cost_reserved: Decimal
    tokens_remaining: int
    cost_remaining: Decimal
    tokens_used: int
    cost_used: Decimal
    status: AllocationStatus
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None
    over_soft_limit: bool = False
    recommended_model: str | None = None
    policy_ids: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UsageRecord:
    """One entry of the append-only ledger."""

    usage_id: str
    request_id: str | None
    allocation_id: str | None
    context_id: str | None
    attributes: RequestAttributes
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: Decimal | None
    cost_breakdown: dict[str, Decimal] | None
    priced: bool
    price_id: int | None
    latency_ms: int | None
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    #: ``usage``; or ``void`` / ``adjust``: a correction of the record
    #: ``corrects_id``, whose amounts are the change it makes.
    kind: str = "usage"
    corrects_id: str | None = None
    reason: str | None = None
    #: The part of ``cache_write_tokens`` written to a 1-hour cache.
    cache_write_1h_tokens: int = 0
    service_tier: str = "standard"
    #: Source and verification of the price the record was costed with.
    price_source: str | None = None
    price_verification: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Alert:
    """Something a human should know, raised once per cause."""

    alert_id: str
    kind: AlertKind
    severity: Severity
    message: str
    budget_id: str | None
    policy_id: str | None
    window: str | None
    threshold: Decimal | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class CostEstimate:
    """What a call would cost at the catalog's current price."""

    provider: str
    model: str
    priced: bool
    cost: Decimal | None
    breakdown: dict[str, Decimal] | None
    price_source: str | None
    price_id: int | None
    #: How far to trust the price: ``verified``, ``unverified``, ``conflict``, ``override``.
    price_verification: str | None = None
    service_tier: str = "standard"
    #: Why the call is unpriced (None when priced).
    unpriced_reason: str | None = None
    #: How the price was found: ``override``, ``exact``, ``match``, ``fallback``
    #: (another platform's price, by the asked platform's declared fallback) or
    #: ``none``; ``price_hint`` says it in a sentence (unpriced: what was looked for).
    price_rule: str | None = None
    price_hint: str | None = None
