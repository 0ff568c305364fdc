"""Request and response models of the price catalog's endpoints.

Rates are USD per million tokens as decimal strings; a tier is
``[start, rate]``: the rate for all tokens of that kind once the request's
input tokens exceed ``start``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field

from budget.api.schemas import Instant, Strict, Text, Tokens, money, money_parts
from budget.api.schemas_declared import declared
from budget.api.schemas_ledger import ServiceTierName
from budget.domain import models as m
from budget.domain.prices import Price
from budget.pricing.refresh import FIELD_VERIFICATION
from budget.pricing.serialize import price_to_dict

Rate = Annotated[Decimal, Field(ge=0, le=Decimal(1_000_000), decimal_places=12)]


class RateOut(BaseModel):
    base: str
    tiers: list[tuple[int, str]] = Field(default_factory=list)


class PriceOut(BaseModel):
    price_id: int | None
    provider: str
    model: str
    name: str | None = None
    rates: dict[str, RateOut]
    per_request: str | None = None
    time_of_day: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Rules replacing the rates at times of day: start, end (wall clock "
        "in timezone), days (mon..sun; absent: every day), effective_from/to, rates.",
    )
    service_tiers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Rates of the batch, flex and priority tiers (standard is `rates`).",
    )
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    context_window: int | None = None
    source: str
    source_version: str | None = None
    verification: str
    field_verification: dict[str, str] = Field(
        default_factory=dict,
        description="Per field (e.g. input, input.tiers[0].rate, time_of_day[0].rates.input): "
        "verified, unverified, conflict or corrected, as the last refresh found it.",
    )
    is_override: bool

    @classmethod
    def of(cls, price: Price) -> PriceOut:
        data = price_to_dict(price)
        rates = dict(data.get("rates", {}))
        per_request = rates.pop("per_request", None)
        time_of_day = rates.pop("time_of_day", [])
        service_tiers = rates.pop("service_tiers", {})
        return cls(
            price_id=price.price_id,
            provider=price.provider,
            model=price.model,
            name=price.name,
            rates={kind: _rate(rate) for kind, rate in rates.items()},
            per_request=None if per_request is None else str(per_request),
            time_of_day=time_of_day,
            service_tiers=service_tiers,
            effective_from=price.effective_from,
            effective_to=price.effective_to,
            context_window=price.context_window,
            source=price.source,
            source_version=price.source_version,
            verification=price.verification,
            field_verification=dict(price.extra.get(FIELD_VERIFICATION) or {}),
            is_override=price.is_override,
        )


def _rate(value: Any) -> RateOut:
    if isinstance(value, dict):
        return RateOut(
            base=str(value["base"]), tiers=[(int(a), str(b)) for a, b in value.get("tiers", [])]
        )
    return RateOut(base=str(value))


class PriceConflictOut(BaseModel):
    provider: str
    model: str
    kinds: dict[str, dict[str, str | None]]
    cause: str | None
    sources: list[str]
    detected_at: datetime
    update_id: str
    current_price_id: int | None

    @classmethod
    def of(cls, conflict) -> PriceConflictOut:
        return cls.model_validate(conflict.to_dict())


class SourceReportOut(BaseModel):
    source: str
    status: str
    version: str | None = None
    records: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = Field(default_factory=dict)
    unmapped: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    disputed: int = 0
    error: str | None = None
    duration_ms: int = 0


class PriceChangeOut(BaseModel):
    provider: str
    model: str
    action: str
    verification: str | None = None
    sources: list[str] = Field(default_factory=list)
    kinds: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    cause: str | None = None
    old_price_id: int | None = None
    new_price_id: int | None = None
    evidence: dict[str, dict[str, Any]] = Field(default_factory=dict)


class UpdateReportOut(BaseModel):
    update_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    status: str
    sources: list[SourceReportOut]
    added: int
    changed: int
    unchanged: int
    conflicts: int
    verified: int
    unverified: int
    changes: list[PriceChangeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, report) -> UpdateReportOut:
        return cls.model_validate(report.to_dict())


class PriceSourceOut(BaseModel):
    name: str
    kind: str
    lineage: str
    trust: str
    refresh_interval_seconds: int
    active: bool
    network: bool
    url: str | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_version: str | None = None
    last_records: int | None = None

    @classmethod
    def of(cls, status) -> PriceSourceOut:
        data = status.to_dict()
        data["trust"] = str(data["trust"])
        return cls.model_validate(data)


class UpdateIn(Strict):
    source: Text | None = None


class OverrideIn(Strict):
    provider: declared("provider")
    model: declared("model")
    input: Rate
    output: Rate | None = None
    cached_input: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    per_request: Rate | None = None
    cache_write_1h: Rate | None = None
    service_tiers: dict[ServiceTierName, dict[str, Rate]] | None = Field(
        None, description='Other tiers\' rates, e.g. {"batch": {"input": "1.5", "output": "7.5"}}.'
    )
    note: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] | None = None


class EstimateIn(Strict):
    provider: declared("provider")
    model: declared("model")
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cached_input_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    cache_write_1h_tokens: Tokens = 0
    service_tier: ServiceTierName | None = None
    at: Instant | None = None


class EstimateOut(BaseModel):
    provider: str
    model: str
    priced: bool
    cost: str | None
    breakdown: dict[str, str] | None
    price_source: str | None
    price_id: int | None
    price_verification: str | None = Field(
        None, description="verified, unverified, conflict or override: how far to trust it."
    )
    service_tier: str = "standard"
    unpriced_reason: str | None = None
    price_rule: str | None = Field(
        None, description="exact, match, fallback, override or none: how the price was found."
    )
    price_hint: str | None = None

    @classmethod
    def of(cls, e: m.CostEstimate) -> EstimateOut:
        return cls(
            provider=e.provider,
            model=e.model,
            priced=e.priced,
            cost=money(e.cost),
            breakdown=money_parts(e.breakdown),
            price_source=e.price_source,
            price_id=e.price_id,
            price_verification=e.price_verification,
            service_tier=e.service_tier,
            unpriced_reason=e.unpriced_reason,
            price_rule=e.price_rule,
            price_hint=e.price_hint,
        )
