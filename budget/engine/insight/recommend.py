"""Model recommendations: the cheaper models that qualify, priced on your own token mix.

The *token mix* is what the ledger says calls to the model looked like over
the last 30 days (requests; input, cached-read, cache-write, output and
reasoning tokens), read from the rollups; without such usage, the mix of all
usage in the same filters; without any, a default of 3,000 input and 1,000
output tokens per request. A candidate's cost is that of the average request
at the candidate's price, times the number of requests, so tiered and
per-request rates apply as they would.

Candidates are the models of the price catalog in force now that qualify:
token rates known, not deprecated, the same kind of model (chat models for a
chat model; embedding for embedding …), the constraints met (same provider,
a minimum context window, capabilities, a maximum tier) and at least 10 %
cheaper on the mix. They are ranked with the current provider's models first,
then nearest first: the most expensive of the cheaper models first, price
standing in for capability, so the first is the smallest step down that saves.
Routing and soft-limit suggestions use this same ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Connection

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.enums import Tier
from budget.domain.money import nanos_to_usd
from budget.domain.prices import Price, TokenUsage
from budget.engine import pricing
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan
from budget.engine.insight.capabilities import capabilities_of, parse_capabilities
from budget.engine.insight.rollups import EPOCH, epoch_hour
from budget.engine.policies import list_policies
from budget.errors import NotFound, ValidationError
from budget.pricing.catalog import normalize_provider
from budget.pricing.normalize import aliases

MIX_DAYS = 30
MAX_LIMIT = 50
#: A candidate must save at least this share of the cost on the mix.
MIN_SAVING_SHARE = Decimal("0.1")
DEFAULT_MIX = TokenUsage(input_tokens=3000, output_tokens=1000)
TIER_ORDER = (Tier.LOCAL_LIGHTWEIGHT, Tier.LOCAL_MIDWEIGHT, Tier.REMOTE_HEAVYWEIGHT)
#: Model families that do a different job; never suggested for a chat model.
SPECIAL_FAMILIES = (
    "realtime",
    "audio",
    "tts",
    "transcribe",
    "image",
    "search",
    "embed",
    "moderation",
    "whisper",
    "dall-e",
    "ft:",
)


@dataclass(frozen=True)
class TokenMix:
    """Requests and token totals a comparison is priced on, and where they came from."""

    requests: int
    usage: TokenUsage  # totals over the requests
    basis: str  # "model", "all" or "default"
    description: str

    def per_request(self) -> TokenUsage:
        """The average request (whole tokens, the convention's bounds kept)."""
        n = max(self.requests, 1)

        def avg(x: int) -> int:
            return int((Decimal(x) / n).to_integral_value(ROUND_HALF_EVEN))

        u = self.usage
        inp, out = avg(u.input_tokens), avg(u.output_tokens)
        cached = min(avg(u.cached_input_tokens), inp)
        written = min(avg(u.cache_write_tokens), inp - cached)
        return TokenUsage(inp, out, cached, written, min(avg(u.reasoning_tokens), out))

    def to_dict(self) -> dict[str, Any]:
        u = self.usage
        return {
            "requests": self.requests,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cached_input_tokens": u.cached_input_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "reasoning_tokens": u.reasoning_tokens,
            "basis": self.basis,
            "description": self.description,
        }


@dataclass(frozen=True)
class Constraints:
    """What a candidate must satisfy besides being cheaper."""

    same_provider: bool = False
    min_context_window: int | None = None
    capabilities: frozenset[str] = frozenset()
    max_tier: Tier | None = None


@dataclass(frozen=True)
class Recommendation:
    """A cheaper model that qualifies, what it would have cost, and why it qualifies."""

    provider: str
    model: str
    name: str | None
    tier: Tier
    context_window: int | None
    capabilities: tuple[str, ...] | None
    estimated_cost: Decimal
    current_cost: Decimal
    saving: Decimal
    saving_share: Decimal
    cost_per_request: Decimal
    reasons: tuple[str, ...]
    mix: TokenMix
    price_source: str
    verification: str
    current_model: str = ""
    current_provider: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings."""
        return {
            "provider": self.provider,
            "model": self.model,
            "name": self.name,
            "tier": self.tier.value,
            "context_window": self.context_window,
            "capabilities": None if self.capabilities is None else list(self.capabilities),
            "estimated_cost": format(self.estimated_cost, "f"),
            "current_cost": format(self.current_cost, "f"),
            "saving": format(self.saving, "f"),
            "saving_share": format(self.saving_share, "f"),
            "cost_per_request": format(self.cost_per_request, "f"),
            "reasons": list(self.reasons),
            "mix": self.mix.to_dict(),
            "price_source": self.price_source,
            "verification": self.verification,
            "current_provider": self.current_provider,
            "current_model": self.current_model,
        }


def current_price(ctx: EngineContext, model: str, provider: str | None, now: datetime) -> Price:
    """The price the model is costed with now; the provider found when not given."""
    if provider is None:
        provider = _provider_of(ctx, model, now)
    price = ctx.catalog.lookup(provider, model, now)
    if price is None:
        raise NotFound("price", "provider/model", f"{provider}/{model}")
    if not _has_rates(price):
        raise ValidationError("model", model, "has no input and output token rates to compare")
    return price


def _provider_of(ctx: EngineContext, model: str, now: datetime) -> str:
    """The provider of a model named alone: a first-party one with token rates first."""
    matches = [p for p in ctx.catalog.select(model=model, at=now) if _has_rates(p)]
    if not matches:
        raise NotFound("price", "model", model)
    first_party = aliases().first_party
    matches.sort(key=lambda p: normalize_provider(p.provider) not in first_party)
    return matches[0].provider


def token_mix(
    conn: Connection,
    price: Price,
    now: datetime,
    task_type: str | None = None,
    budget_policies: tuple | None = None,
) -> TokenMix:
    """The recent token mix of calls to the model (else of all calls, else a default)."""
    until = EPOCH + timedelta(hours=epoch_hour(now) + 1)
    since = until - timedelta(days=MIX_DAYS)
    base = {"task_type": task_type} if task_type else {}
    model = {**base, "provider": price.provider, "model": price.model}
    whole = Bucketing.of(None, "UTC")
    for filters, basis in ((model, "model"), (base, "all")):
        query = agg.Query(since, until, whole, (), filters, frozenset(), budget_policies)
        totals = agg.run(conn, query, plan(since, until, whole)).totals
        if totals.records:
            usage = TokenUsage(
                totals.input_tokens,
                totals.output_tokens,
                totals.cached_input_tokens,
                totals.cache_write_tokens,
                totals.reasoning_tokens,
            )
            what = f"{price.provider}/{price.model}" if basis == "model" else "all models"
            text = f"your {totals.records:,} requests to {what} over the last {MIX_DAYS} days"
            return TokenMix(totals.records, usage, basis, text)
    return TokenMix(1, DEFAULT_MIX, "default", "a default request of 3,000 input + 1,000 output")


def rank(
    ctx: EngineContext,
    current: Price,
    mix: TokenMix,
    constraints: Constraints,
    now: datetime,
) -> list[Recommendation]:
    """Every qualifying cheaper model, best first (see the module's docstring)."""
    per_request = mix.per_request()
    current_nanos = _cost(current, per_request, now)
    if current_nanos is None:
        raise ValidationError("model", current.model, "its price cannot cost the token mix")
    special = _special(current.model)
    out = []
    for price in _candidates(ctx, current, now, constraints.same_provider):
        if _special(price.model) != special:
            continue
        nanos = _cost(price, per_request, now)
        if nanos is None or nanos > current_nanos * (1 - MIN_SAVING_SHARE):
            continue
        found = _qualify(ctx, price, current, constraints)
        if found is None:
            continue
        tier, caps, reasons = found
        out.append(_recommendation(price, current, mix, nanos, current_nanos, tier, caps, reasons))
    out.sort(key=lambda r: (r.provider != current.provider, -r.estimated_cost, r.model))
    return out


def _candidates(
    ctx: EngineContext, current: Price, now: datetime, same_provider: bool
) -> list[Price]:
    """The effective price of every other model in force (of the same provider if asked)."""
    listed: dict[tuple[str, str], list[Price]] = {}
    for price in ctx.catalog.select(provider=current.provider if same_provider else None, at=now):
        if "*" not in price.model:
            key = (normalize_provider(price.provider), price.model.lower())
            listed.setdefault(key, []).append(price)
    own = (normalize_provider(current.provider), current.model.lower())
    out = []
    for key, prices in listed.items():
        if key == own:
            continue
        price = prices[0] if len(prices) == 1 else ctx.catalog.lookup(key[0], key[1], now)
        if price is None or not _has_rates(price) or price.extra.get("deprecated"):
            continue
        out.append(price)
    return out


def _qualify(ctx: EngineContext, price: Price, current: Price, c: Constraints):
    """(tier, capabilities, reasons) when the candidate meets every constraint, else None."""
    same = normalize_provider(price.provider) == normalize_provider(current.provider)
    if c.same_provider and not same:
        return None
    reasons = ["same provider" if same else f"provider {price.provider}"]
    if c.min_context_window is not None:
        if (price.context_window or 0) < c.min_context_window:
            return None
        reasons.append(
            f"context window {price.context_window:,} >= {c.min_context_window:,} tokens"
        )
    elif price.context_window:
        reasons.append(f"context window {price.context_window:,} tokens")
    caps = capabilities_of(ctx.settings, price.provider, price.model)
    if c.capabilities:
        if caps is None or not c.capabilities <= caps:
            return None
        reasons.append("supports " + ", ".join(sorted(c.capabilities)))
    tier = pricing.resolve_tier(ctx.settings, None, price.provider, price.model)
    if c.max_tier is not None:
        if TIER_ORDER.index(tier) > TIER_ORDER.index(c.max_tier):
            return None
        reasons.append(f"tier {tier.value} within {c.max_tier.value}")
    reasons.append(f"price {price.verification} (source {price.source})")
    return tier, caps, reasons


def _recommendation(
    price: Price,
    current: Price,
    mix: TokenMix,
    nanos: int,
    current_nanos: int,
    tier: Tier,
    caps: frozenset[str] | None,
    reasons: list[str],
) -> Recommendation:
    estimated, was = nanos * mix.requests, current_nanos * mix.requests
    share = (Decimal(was - estimated) / was).quantize(Decimal("0.0001")) if was else Decimal(0)
    cheaper = (
        f"{share * 100:.1f}% cheaper on {mix.description}: "
        f"${nanos_to_usd(estimated)} instead of ${nanos_to_usd(was)}"
    )
    return Recommendation(
        provider=price.provider,
        model=price.model,
        name=price.name,
        tier=tier,
        context_window=price.context_window,
        capabilities=None if caps is None else tuple(sorted(caps)),
        estimated_cost=nanos_to_usd(estimated),
        current_cost=nanos_to_usd(was),
        saving=nanos_to_usd(was - estimated),
        saving_share=share,
        cost_per_request=nanos_to_usd(nanos),
        reasons=(cheaper, *reasons),
        mix=mix,
        price_source=price.source,
        verification=price.verification,
        current_model=current.model,
        current_provider=current.provider,
    )


def _cost(price: Price, usage: TokenUsage, at: datetime) -> int | None:
    cost = pricing.cost_of(price, usage, at)
    return None if cost is None else cost.total_nanos


def _has_rates(price: Price) -> bool:
    rates = price.rates
    return rates.input is not None and (rates.output is not None or _special(price.model))


def _special(model: str) -> frozenset[str]:
    return frozenset(s for s in SPECIAL_FAMILIES if s in model.lower())


def parse_tier(value: Any) -> Tier | None:
    """A tier by name (None stays None)."""
    if value is None or isinstance(value, Tier):
        return value
    try:
        return Tier(value)
    except ValueError:
        names = ", ".join(t.value for t in Tier)
        raise ValidationError("max_tier", value, f"must be one of {names}") from None


def recommend_models(
    ctx: EngineContext,
    *,
    model: Any,
    provider: Any = None,
    task_type: Any = None,
    min_context_window: Any = None,
    same_provider: Any = False,
    capabilities: Any = None,
    max_tier: Any = None,
    budget_id: str | None = None,
    limit: Any = 5,
) -> list[Recommendation]:
    """The cheaper models that qualify for ``model``, best first, at most ``limit``."""
    name = (v.text("model", model, required=True, max_len=200) or "").lower()
    vendor = v.text("provider", provider, max_len=100)
    task = v.text("task_type", task_type, max_len=100)
    if not isinstance(same_provider, bool):
        raise ValidationError("same_provider", same_provider, "must be true or false")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", limit, f"must be a whole number from 1 to {MAX_LIMIT}")
    constraints = Constraints(
        same_provider=same_provider,
        min_context_window=v.positive_tokens("min_context_window", min_context_window),
        capabilities=parse_capabilities(capabilities),
        max_tier=parse_tier(max_tier),
    )
    policies = None
    if budget_id is not None:
        get_budget(ctx, budget_id)
        policies = tuple(list_policies(ctx, budget_id))
    now = utcnow()
    with ctx.db.read() as conn:
        ctx.refresh(conn)
        current = current_price(ctx, name, vendor.lower() if vendor else None, now)
        mix = token_mix(conn, current, now, task, policies)
    return rank(ctx, current, mix, constraints, now)[:limit]
