"""Request and response models of the insight endpoints: reports, forecasts,
analysis, recommendations, routing and the rollup rebuild.

Each response model is built from the engine result's ``to_dict()`` (money and
rates as decimal strings), so the library, the API, the CLI and the MCP tools
show the same figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic import Strict as StrictType

from budget.api.schemas import Bool, Strict, Tags, Tokens
from budget.api.schemas_declared import declared
from budget.api.schemas_ledger import DenialOut
from budget.domain.enums import Tier

GroupName = Literal[
    "budget",
    "policy",
    "component",
    "project",
    "user",
    "api_key",
    "provider",
    "model",
    "tier",
    "task_type",
    "tag",
]
BucketName = Literal["hour", "day", "week", "month"]
Capability = Literal[
    "tools",
    "vision",
    "reasoning",
    "json_schema",
    "prompt_caching",
    "pdf",
    "web_search",
    "audio_input",
    "audio_output",
    "video_input",
    "computer_use",
]
#: What recommend and route leave out unless included (engine/insight/eligibility.py).
Include = Literal["deprecated", "retired", "unknown", "base", "fine_tuned"]
Zone = declared("timezone")


class _FromDict(BaseModel):
    @classmethod
    def of(cls, result: Any):
        """From an engine result (anything with ``to_dict()``)."""
        return cls.model_validate(result.to_dict())


class UsageFigures(BaseModel):
    """Usage summed: all records and tokens, cost of the priced ones, unpriced apart."""

    records: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: str = Field(description="USD of the priced usage (unpriced usage has no cost)")
    unpriced_records: int
    unpriced_tokens: int


class ReportRowOut(UsageFigures):
    bucket_start: datetime | None
    bucket_end: datetime | None
    group: dict[str, str | None]


class UnpricedModelOut(BaseModel):
    provider: str | None
    model: str | None
    records: int
    tokens: int


class ReportOut(_FromDict):
    """A usage report: rows per group and bucket, totals, unpriced models."""

    since: datetime
    until: datetime
    group_by: list[str]
    bucket: str | None
    timezone: str
    filters: dict[str, Any]
    budget_id: str | None
    top: int | None
    rows: list[ReportRowOut]
    total: UsageFigures
    others: UsageFigures | None = Field(description="The groups ``top`` left out, summed")
    unpriced: list[UnpricedModelOut]
    names: dict[str, dict[str, str]] = Field(description="Budget and policy names by id")
    source: dict[str, Any] = Field(description="The cube read, rollup rows and ledger pieces")
    corrections: Literal["include", "exclude", "only"] = Field(
        "include", description="Voids and adjustments of the ledger: included, excluded or only"
    )


class ProjectionOut(BaseModel):
    unit: Literal["usd", "tokens"]
    limit: str | None
    used: str
    reserved: str
    average_rate_per_hour: str
    recent_rate_per_hour: str | None
    rate_per_hour: str
    projected: str
    projected_share: str | None
    will_exceed: bool
    exceeds_at: datetime | None


class ForecastOut(_FromDict):
    """One current window: spent so far, burn rate, projected total at its end."""

    budget_id: str
    policy_id: str
    policy_name: str
    policy_type: str
    period: str
    window: str
    starts_at: datetime
    resets_at: datetime
    as_of: datetime
    elapsed_hours: str
    remaining_hours: str
    recent_hours: str
    usd: ProjectionOut
    tokens: ProjectionOut
    will_exceed: bool
    confident: bool
    alert_raised: bool


class FindingOut(_FromDict):
    """A trend or a spike of one group, with the numbers behind it."""

    kind: Literal["trend", "spike"]
    dimension: str
    group: str | None
    metric: Literal["cost", "tokens"]
    direction: str
    summary: str
    numbers: dict[str, Any]


class TokenMixOut(BaseModel):
    requests: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    basis: Literal["model", "all", "default", "request"]
    description: str


class ModelFactsOut(_FromDict):
    """What the sources state about one model (None: not stated), and who said it."""

    provider: str
    model: str
    mode: str | None
    context_window: int | None
    max_input_tokens: int | None
    max_output_tokens: int | None
    input_modalities: list[str]
    output_modalities: list[str]
    capabilities: list[str]
    lifecycle: Literal["current", "deprecated", "retired", "unknown"]
    deprecated: bool
    retires_on: str | None
    successor: str | None
    base: bool
    fine_tuned: bool
    sources: dict[str, str]
    requested: dict[str, str]
    priced_as: dict[str, str] | None


class RecommendationOut(_FromDict):
    """A cheaper model that qualifies, its saving on your token mix, and why."""

    provider: str
    model: str
    name: str | None
    tier: Tier
    context_window: int | None
    capabilities: list[str] | None
    estimated_cost: str
    current_cost: str
    saving: str
    saving_share: str
    cost_per_request: str
    reasons: list[str]
    mix: TokenMixOut
    price_source: str
    verification: str
    current_provider: str
    current_model: str


class RouteIn(Strict):
    """A request to route: the preferred model, expected tokens, the caller's attributes."""

    preferred_model: declared("model")
    provider: declared("provider") | None = None
    task_type: declared("task_type") | None = None
    input_tokens: Tokens = 0
    max_output_tokens: Tokens = 0
    component: declared("component") | None = None
    project: declared("project") | None = None
    user: declared("user") | None = None
    api_key: declared("api_key") | None = None
    tier: Tier | None = None
    tags: Tags | None = None
    session_id: declared("session_id") | None = None
    task_id: declared("task_id") | None = None
    priority: (
        Annotated[int, StrictType(), Field(ge=1, le=10)]
        | Literal["low", "normal", "high", "critical"]
    ) = 5
    same_provider: Bool = False
    capabilities: Annotated[list[Capability], Field(max_length=11)] | None = None
    min_context_window: Annotated[int, StrictType(), Field(ge=1, le=10**9)] | None = None
    max_tier: Tier | None = None
    include: Annotated[list[Include], Field(max_length=5)] | None = None


class ConsideredOut(BaseModel):
    provider: str
    model: str
    outcome: Literal["granted", "over_soft_limit", "denied"]
    estimated_cost: str | None


class RouteOut(_FromDict):
    """Which model to use now, or a denial saying when the budget returns."""

    decision: Literal[
        "preferred", "cheaper", "larger_context", "local", "preferred_over_soft_limit", "denied"
    ]
    allowed: bool
    provider: str | None
    model: str | None
    preferred_provider: str | None
    preferred_model: str
    reason: str
    tokens: int
    estimated_cost: str | None
    over_soft_limit: bool
    retry_at: datetime | None
    denials: list[DenialOut]
    considered: list[ConsideredOut]
    recommendation: RecommendationOut | None


class RebuildIn(Strict):
    check_only: Bool = False


class RebuildOut(_FromDict):
    """Whether the stored rollups agreed with the ledger, and what was repaired."""

    check_only: bool
    agreed: bool
    repaired: bool
    days: int
    ledger_records: int
    ledger_tokens: int
    ledger_cost: str
    stored_rows: int
    rollup_rows: int
    mismatched_rows: int
    mismatched_days: list[str]
    seconds: float


def route_arguments(body: RouteIn) -> dict[str, Any]:
    """The keyword arguments of ``BudgetService.route_request`` from a request body."""
    return body.model_dump(exclude_none=True, mode="json")
