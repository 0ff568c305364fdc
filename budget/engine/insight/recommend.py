"""Model recommendations: the cheaper models that qualify, priced on your own token mix.

Candidates are priced on the *token mix* (:mod:`~budget.engine.insight.mix`):
what calls to the model looked like over the last 30 days, else all calls, else
a default request. A candidate's cost is that of the average request
at the candidate's price, times the number of requests, so tiered and
per-request rates apply as they would.

Candidates are the models of the price catalog in force now that qualify:
token rates known, the same kind of model (chat models for a chat model;
embedding for embedding …), sensible by their model facts (current, not a base
or fine-tuned model, holding the average request: see
:mod:`~budget.engine.insight.eligibility`, whose ``include`` lets the others
in), the constraints met (same provider, a minimum context window,
capabilities, a maximum tier) and at least 10 % cheaper on the mix. They are
ranked with the current provider's models first,
then nearest first: the most expensive of the cheaper models first, price
standing in for capability, so the first is the smallest step down that saves.
Routing and soft-limit suggestions use this same ranking.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import Tier
from budget.domain.facts import ModelFacts
from budget.domain.money import nanos_to_usd
from budget.domain.prices import Price, TokenUsage
from budget.engine import pricing
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.insight import eligibility as rules
from budget.engine.insight.capabilities import capabilities_of, facts_of, parse_capabilities
from budget.engine.insight.eligibility import Constraints, parse_include
from budget.engine.insight.mix import TokenMix, token_mix
from budget.engine.policies import list_policies
from budget.errors import NotFound, ValidationError
from budget.pricing.normalize import aliases
from budget.pricing.platforms import normalize_platform

MAX_LIMIT = 50
#: A candidate must save at least this share of the cost on the mix.
MIN_SAVING_SHARE = Decimal("0.1")
#: Model families that do a different job (and fine-tuned ids), never
#: suggested for a chat model.
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
#: Models served as chat that do one narrow task (OCR, safety classification,
#: robot control); never suggested for a general chat model.
TASK_FAMILIES = ("ocr", "guard", "robotics")


@dataclass(frozen=True)
class Candidate:
    """A model that qualifies (at any price), with what qualifies it."""

    price: Price
    tier: Tier
    capabilities: frozenset[str] | None
    facts: ModelFacts | None
    reasons: tuple[str, ...]


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
    matches.sort(key=lambda p: normalize_platform(p.provider) not in first_party)
    return matches[0].provider


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
    if not constraints.explicit:
        sized = (per_request.input_tokens, per_request.output_tokens)
        constraints = replace(constraints, input_tokens=sized[0], output_tokens=sized[1])
    out = []
    for cand in screen(ctx, current, constraints, now)[0]:
        nanos = _cost(cand.price, per_request, now)
        if nanos is None or nanos > current_nanos * (1 - MIN_SAVING_SHARE):
            continue
        out.append(recommendation(cand, current, mix, nanos, current_nanos))
    out.sort(key=lambda r: (r.provider != current.provider, -r.estimated_cost, r.model))
    return out


def screen(
    ctx: EngineContext, current: Price, constraints: Constraints, now: datetime
) -> tuple[list[Candidate], Counter[str]]:
    """Every other model in force that qualifies (at any price), and how many
    were refused for each reason."""
    kind = rules.mode_of(_facts(current))
    special = _special(current.model)
    refused: Counter[str] = Counter()
    out = []
    for price in _candidates(ctx, current, now, constraints.same_provider):
        facts = _facts(price)
        mode = rules.mode_of(facts)
        families = _special(price.model)
        if families != special or mode != kind:
            what = "/".join(sorted(families)) if families != special else mode
            refused[f"not a {kind} model ({what or 'general'})"] += 1
            continue
        found = _qualify(ctx, price, facts, constraints, now, current.provider)
        if isinstance(found, str):
            refused[found] += 1
        else:
            out.append(found)
    return out, refused


def _candidates(
    ctx: EngineContext, current: Price, now: datetime, same_provider: bool
) -> list[Price]:
    """The effective price of every other model in force (of the same provider if asked)."""
    listed: dict[tuple[str, str], list[Price]] = {}
    for price in ctx.catalog.select(provider=current.provider if same_provider else None, at=now):
        if "*" not in price.model:
            key = (normalize_platform(price.provider), price.model.lower())
            listed.setdefault(key, []).append(price)
    own = (normalize_platform(current.provider), current.model.lower())
    out = []
    for key, prices in listed.items():
        if key == own:
            continue
        price = prices[0] if len(prices) == 1 else ctx.catalog.lookup(key[0], key[1], now)
        if price is None or not _has_rates(price):
            continue
        out.append(price)
    return out


def _qualify(
    ctx: EngineContext,
    price: Price,
    facts: ModelFacts | None,
    c: Constraints,
    now: datetime,
    home: str,
) -> Candidate | str:
    """The candidate when it meets every rule and constraint, else why not."""
    today = now.date()
    if price.extra.get("deprecated") and "deprecated" not in c.include:
        return "deprecated"
    refusal = rules.lifecycle_refusal(facts, c.include, today) or rules.size_refusal(facts, c)
    if refusal:
        return refusal
    caps = capabilities_of(ctx.settings, price.provider, price.model)
    if c.capabilities and (caps is None or not c.capabilities <= caps):
        return "lacks " + ", ".join(sorted(c.capabilities - (caps or frozenset())))
    tier = pricing.resolve_tier(ctx.settings, None, price.provider, price.model)
    refusal = rules.tier_refusal(tier, c)
    if refusal:
        return refusal
    same = normalize_platform(price.provider) == normalize_platform(home)
    reasons = ["same provider" if same else f"provider {price.provider}"]
    reasons += rules.fit_reasons(facts, c, today)
    if c.capabilities:
        reasons.append("supports " + ", ".join(sorted(c.capabilities)))
    if c.max_tier is not None:
        reasons.append(f"tier {tier.value} within {c.max_tier.value}")
    reasons.append(f"price {price.verification} (source {price.source})")
    return Candidate(price, tier, caps, facts, tuple(reasons))


def recommendation(
    cand: Candidate, current: Price, mix: TokenMix, nanos: int, current_nanos: int
) -> Recommendation:
    """A candidate costed on the mix against the current model."""
    price = cand.price
    estimated, was = nanos * mix.requests, current_nanos * mix.requests
    share = (Decimal(was - estimated) / was).quantize(Decimal("0.0001")) if was else Decimal(0)
    cheaper = (
        f"{share * 100:.1f}% cheaper on {mix.description}: "
        f"${nanos_to_usd(estimated)} instead of ${nanos_to_usd(was)}"
    )
    window = cand.facts.window if cand.facts is not None else None
    return Recommendation(
        provider=price.provider,
        model=price.model,
        name=price.name,
        tier=cand.tier,
        context_window=window if window is not None else price.context_window,
        capabilities=None if cand.capabilities is None else tuple(sorted(cand.capabilities)),
        estimated_cost=nanos_to_usd(estimated),
        current_cost=nanos_to_usd(was),
        saving=nanos_to_usd(was - estimated),
        saving_share=share,
        cost_per_request=nanos_to_usd(nanos),
        reasons=(cheaper, *cand.reasons),
        mix=mix,
        price_source=price.source,
        verification=price.verification,
        current_model=current.model,
        current_provider=current.provider,
    )


def _facts(price: Price) -> ModelFacts | None:
    """The model's facts; the price's context window where they state none."""
    facts = facts_of(price.provider, price.model)
    if price.context_window is None or (facts is not None and facts.window is not None):
        return facts
    if facts is None:
        return ModelFacts(price.provider, price.model, context_window=price.context_window)
    return replace(facts, context_window=price.context_window)


def _cost(price: Price, usage: TokenUsage, at: datetime) -> int | None:
    cost = pricing.cost_of(price, usage, at)
    return None if cost is None else cost.total_nanos


def _has_rates(price: Price) -> bool:
    rates = price.rates
    return rates.input is not None and (rates.output is not None or _special(price.model))


def _special(model: str) -> frozenset[str]:
    # Fine-tuned ids are the facts rules' to refuse (``include`` may let them in).
    name = model.lower()
    return frozenset(s for s in (*SPECIAL_FAMILIES, *TASK_FAMILIES) if s in name and s != "ft:")


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
    include: Any = None,
) -> list[Recommendation]:
    """The cheaper models that qualify for ``model``, best first, at most ``limit``;
    ``include`` lets in what the facts rules keep out (see
    :data:`~budget.engine.insight.eligibility.INCLUDE`)."""
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
        include=parse_include(include),
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
