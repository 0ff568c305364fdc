"""Prices inside the engine: tiers, cost of a call, estimates, a cheaper model."""

from __future__ import annotations

from datetime import datetime

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.defaults import PROVIDER_TIERS
from budget.domain.enums import ServiceTier, Tier
from budget.domain.models import CostEstimate
from budget.domain.prices import STANDARD_TIER, CostBreakdown, Price, TokenUsage
from budget.engine.context import PRICES, EngineContext, bump_version
from budget.pricing.corrections import corrected_default_prices
from budget.pricing.cost import MissingRate, compute_cost
from budget.settings import Settings


def resolve_tier(
    settings: Settings, tier: Tier | None, provider: str | None, model: str | None
) -> Tier:
    """Given, else from the model, else from the provider, else the highest."""
    if tier is not None:
        return tier
    if model:
        for key, value in settings.model_tiers.items():
            key = key.lower()
            if model == key or (key.endswith("*") and model.startswith(key[:-1])):
                return value
    if provider:
        tiers = {**PROVIDER_TIERS, **{k.lower(): val for k, val in settings.provider_tiers.items()}}
        if provider in tiers:
            return tiers[provider]
    return Tier.REMOTE_HEAVYWEIGHT


def cost_of(
    price: Price | None, usage: TokenUsage, at: datetime, service_tier: str = STANDARD_TIER
) -> CostBreakdown | None:
    """The cost of a call, or None when the model has no usable price."""
    return priced(price, usage, at, service_tier)[0]


def priced(
    price: Price | None, usage: TokenUsage, at: datetime, service_tier: str = STANDARD_TIER
) -> tuple[CostBreakdown | None, str | None]:
    """``(cost, None)``, or ``(None, why the call is unpriced)``."""
    if price is None:
        return None, "no known price for this provider and model"
    try:
        return compute_cost(price, usage, at, service_tier), None
    except MissingRate as missing:
        return None, str(missing)


def valid_service_tier(value: object) -> str:
    """A validated service tier name; None is ``standard``."""
    return str(v.choice("service_tier", value, ServiceTier, required=False) or STANDARD_TIER)


#: How old the cached catalog an estimate reads may be, at most.
ESTIMATE_STALENESS_SECONDS = 1.0


def estimate_cost(
    ctx: EngineContext,
    *,
    provider: str,
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    at: datetime | None = None,
    cache_write_1h_tokens: int = 0,
    service_tier: str | None = None,
) -> CostEstimate:
    """What a call would cost at the price in force (now, or at ``at``), with
    the price's source and verification, so the figure says how far to trust it."""
    provider = v.provider("provider", provider, required=True)
    model = v.model("model", model, required=True)
    usage = token_usage(
        input_tokens,
        output_tokens,
        cached_input_tokens,
        cache_write_tokens,
        reasoning_tokens,
        cache_write_1h_tokens,
    )
    tier = valid_service_tier(service_tier)
    when = v.instant("at", at) or utcnow()
    # A price another process changed shows here within a second (this
    # process's own changes at once); allocate and record always check.
    ctx.refresh_at_most_every(ESTIMATE_STALENESS_SECONDS)
    found = ctx.catalog.resolve(provider, model, when)
    price = found.price
    cost, why = priced(price, usage, when, tier)
    hint = found.describe()
    if price is None:
        why = hint  # what was looked for, and not found
    return CostEstimate(
        provider=provider,
        model=model,
        priced=cost is not None,
        cost=None if cost is None else cost.total_usd,
        breakdown=None if cost is None else cost.as_usd(),
        price_source=None if price is None else price.source,
        price_id=None if price is None else price.price_id,
        price_verification=None if price is None else price.verification,
        service_tier=tier,
        unpriced_reason=why,
        price_rule=found.rule,
        price_hint=hint,
    )


def token_usage(
    input_tokens: object,
    output_tokens: object,
    cached_input_tokens: object = 0,
    cache_write_tokens: object = 0,
    reasoning_tokens: object = 0,
    cache_write_1h_tokens: object = 0,
) -> TokenUsage:
    """Validated token counts in the one convention (cached and written
    cache tokens are part of input; reasoning tokens are part of output;
    1-hour cache writes are part of the cache writes)."""
    usage = TokenUsage(
        input_tokens=v.tokens("input_tokens", input_tokens) or 0,
        output_tokens=v.tokens("output_tokens", output_tokens) or 0,
        cached_input_tokens=v.tokens("cached_input_tokens", cached_input_tokens) or 0,
        cache_write_tokens=v.tokens("cache_write_tokens", cache_write_tokens) or 0,
        reasoning_tokens=v.tokens("reasoning_tokens", reasoning_tokens) or 0,
        cache_write_1h_tokens=v.tokens("cache_write_1h_tokens", cache_write_1h_tokens) or 0,
    )
    if usage.cached_input_tokens + usage.cache_write_tokens > usage.input_tokens:
        raise v.ValidationError(
            "cached_input_tokens",
            usage.cached_input_tokens,
            f"cached_input_tokens + cache_write_tokens ({usage.cached_input_tokens} + "
            f"{usage.cache_write_tokens}) exceed input_tokens ({usage.input_tokens}), "
            "which include them",
        )
    if usage.reasoning_tokens > usage.output_tokens:
        raise v.ValidationError(
            "reasoning_tokens",
            usage.reasoning_tokens,
            f"exceeds output_tokens ({usage.output_tokens}), which include reasoning tokens",
        )
    if usage.cache_write_1h_tokens > usage.cache_write_tokens:
        raise v.ValidationError(
            "cache_write_1h_tokens",
            usage.cache_write_1h_tokens,
            f"exceeds cache_write_tokens ({usage.cache_write_tokens}), which include "
            "the 1-hour cache writes",
        )
    return usage


def seed_default_prices(ctx: EngineContext) -> int:
    """Fill an empty price table from the catalog shipped with the package,
    with the shipped corrections applied."""
    with ctx.db.write() as tx:
        if tx.prices.count():
            return 0
        written = tx.prices.insert_catalog(corrected_default_prices(), utcnow())
        bump_version(tx, PRICES)
    ctx.invalidate()
    return written
