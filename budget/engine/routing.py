"""Budget-aware routing: which model to use for a request now.

1. the preferred model, if its context window holds the request (input +
   maximum output; an unknown window is given the benefit of the doubt) and
   every matching policy would grant it without passing a soft limit (a dry
   run of allocate: nothing is reserved);
2. else the cheapest model that fits: the candidates that qualify by their
   model facts and the constraints (:func:`~budget.engine.insight.recommend.screen`:
   current, not a base or fine-tuned model unless ``include`` says so, the
   same kind of model, a context window known to hold the request, the
   capabilities asked for), cheaper on this request than the preferred model
   (any price when the preferred model cannot hold the request), tried
   cheapest first — the preferred model's provider's first (a caller has its
   keys), then the other providers' (none with ``same_provider``), at most
   five of each — the first the budget grants within its soft limits;
3. else the free local model of ``Settings.route_local_model``, if configured
   and granted;
4. else the preferred model over its soft limit, when only soft limits stand
   in the way (a soft limit grants) and it holds the request;
5. else a denial that says why no model fits (how many candidates each rule
   and the budget refused) and when the budget returns (the latest reset
   among the windows that refuse the preferred model).

Allocation's soft-limit suggestion (``recommended_model`` of allocate and
check) is :func:`suggest_cheaper`: the ranking of
:func:`~budget.engine.insight.recommend.rank`, restricted to the same
provider and a context window at least the current model's.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.models import RequestAttributes
from budget.domain.prices import TokenUsage
from budget.engine import pricing
from budget.engine.allocation_request import build_request
from budget.engine.context import EngineContext
from budget.engine.dry_run import dry_run
from budget.engine.insight.capabilities import facts_of, parse_capabilities
from budget.engine.insight.eligibility import Constraints, parse_include
from budget.engine.insight.recommend import (
    Recommendation,
    TokenMix,
    current_price,
    parse_tier,
    rank,
    recommendation,
    screen,
    token_mix,
)
from budget.engine.insight.route_decision import Considered, RouteDecision
from budget.errors import BudgetError, Denial, ValidationError

ATTRIBUTES = (
    "component",
    "project",
    "user",
    "api_key",
    "tier",
    "tags",
    "session_id",
    "task_id",
    "priority",
    "context_id",
)
MAX_CANDIDATES = 5


def suggest_cheaper(ctx: EngineContext, attrs: RequestAttributes, at: datetime) -> str | None:
    """The cheaper model allocate and check suggest over a soft limit (or on a denial):
    a configured fallback, else the first of the same ranking routing uses. It
    reads the usage of the last weeks in a read transaction of its own: never
    inside a write transaction, which would hold its locks meanwhile."""
    if not attrs.provider or not attrs.model:
        return None
    if attrs.model in ctx.settings.fallback_models:
        return ctx.settings.fallback_models[attrs.model]
    try:
        current = current_price(ctx, attrs.model, attrs.provider, at)
        with ctx.db.read() as tx:
            mix = token_mix(tx, current, at, attrs.task_type)
        facts = facts_of(current.provider, current.model)
        window = facts.window if facts is not None else None
        window = window or current.context_window
        limits = Constraints(same_provider=True, min_context_window=window)
        ranked = rank(ctx, current, mix, limits, at)
    except BudgetError:
        return None
    return ranked[0].model if ranked else None


def route_request(
    ctx: EngineContext,
    *,
    preferred_model: Any,
    provider: Any = None,
    task_type: Any = None,
    input_tokens: Any = 0,
    max_output_tokens: Any = 0,
    same_provider: Any = False,
    capabilities: Any = None,
    min_context_window: Any = None,
    max_tier: Any = None,
    include: Any = None,
    **attributes: Any,
) -> RouteDecision:
    """Which model to use now for this request (see the module's docstring)."""
    for name, value in attributes.items():
        if name not in ATTRIBUTES:
            raise ValidationError(
                name, value, "not a routing attribute; use " + ", ".join(ATTRIBUTES)
            )
    model = (v.text("preferred_model", preferred_model, required=True, max_len=200) or "").lower()
    vendor = v.text("provider", provider, max_len=100)
    inputs = v.tokens("input_tokens", input_tokens) or 0
    outputs = v.tokens("max_output_tokens", max_output_tokens) or 0
    if not isinstance(same_provider, bool):
        raise ValidationError("same_provider", same_provider, "must be true or false")
    constraints = Constraints(
        same_provider=same_provider,
        min_context_window=v.positive_tokens("min_context_window", min_context_window),
        capabilities=parse_capabilities(capabilities),
        max_tier=parse_tier(max_tier),
        include=parse_include(include),
        input_tokens=inputs,
        output_tokens=outputs,
        explicit=bool(inputs or outputs),
    )
    request = {
        "task_type": task_type,
        **({"input_tokens": inputs} if inputs else {}),
        **({"max_output_tokens": outputs} if outputs else {}),
        **attributes,
    }
    request.setdefault("context_id", "route")
    now = utcnow()
    price = _price_or_none(ctx, model, vendor.lower() if vendor else None, now)
    home = price.provider if price is not None else (vendor.lower() if vendor else None)
    if home is None:
        raise ValidationError("provider", None, f"required: no price names a provider of {model!r}")
    first = _dry_run(ctx, home, model, request)
    considered = [_considered(home, model, first)]
    too_small = _too_small(home, model, inputs, outputs)

    def decide(decision: str, reason: str, **extra: Any) -> RouteDecision:
        fields = {
            "provider": home,
            "model": model,
            "estimated_cost": first.estimated_cost,
            "over_soft_limit": False,
            "retry_at": None,
            "denials": (),
            **extra,
        }
        return RouteDecision(
            decision=decision,
            preferred_provider=home,
            preferred_model=model,
            reason=reason,
            tokens=first.tokens,
            considered=tuple(considered),
            **fields,
        )

    if too_small is None and first.allowed and not first.over_soft_limit:
        return decide("preferred", "the budget allows the preferred model")
    why_not = too_small or "the preferred model " + _why_not(first)
    none_fits = "no model is priced to compare"
    if price is not None:
        task = v.text("task_type", task_type, max_len=100)
        picked, none_fits = _cheapest_fit(
            ctx, price, constraints, request, now, task, considered, too_small is None
        )
        if picked is not None:
            rec, result = picked
            return decide(
                "cheaper" if too_small is None else "larger_context",
                f"{why_not}; {_cheapest(rec, home)}: " + "; ".join(rec.reasons),
                provider=rec.provider,
                model=rec.model,
                estimated_cost=result.estimated_cost,
                recommendation=rec,
            )
    local = _local(ctx)
    if local is not None and local != (home, model):
        result = _dry_run(ctx, local[0], local[1], request)
        considered.append(_considered(local[0], local[1], result))
        if result.allowed:
            why = f"{why_not}; {none_fits}: local model"
            return decide(
                "local",
                why,
                provider=local[0],
                model=local[1],
                estimated_cost=result.estimated_cost,
            )
    if first.allowed and too_small is None:
        why = f"only soft limits are passed and {none_fits}: the preferred model"
        return decide("preferred_over_soft_limit", why, over_soft_limit=True)
    return decide(
        "denied",
        f"{why_not}; {none_fits}, and no local model",
        provider=None,
        model=None,
        estimated_cost=None,
        retry_at=None if too_small else _returns_at(first.denials),
        denials=first.denials,
    )


def _too_small(provider: str, model: str, inputs: int, outputs: int) -> str | None:
    """Why the preferred model cannot hold the request (None: it can, or nobody knows)."""
    facts = facts_of(provider, model)
    if not (inputs + outputs) or facts is None or facts.holds(inputs, outputs) is not False:
        return None
    return (
        f"the preferred model's context window ({facts.window:,} tokens, "
        f"{facts.max_output_tokens or 0:,} output) cannot hold {inputs:,} input + "
        f"{outputs:,} output tokens"
    )


def _cheapest_fit(
    ctx: EngineContext,
    price,
    constraints: Constraints,
    request: dict[str, Any],
    now: datetime,
    task: str | None,
    considered: list[Considered],
    cheaper_only: bool,
) -> tuple[tuple[Recommendation, Any] | None, str]:
    """The cheapest qualifying model the budget grants, else why none fits."""
    if constraints.explicit:
        usage = TokenUsage(constraints.input_tokens, constraints.output_tokens)
        what = f"this request of {usage.input_tokens:,} input + {usage.output_tokens:,} output"
        mix = TokenMix(1, usage, "request", what)
    else:
        with ctx.db.read() as tx:
            mix = token_mix(tx, price, now, task)
    per_request = mix.per_request()
    preferred = pricing.cost_of(price, per_request, now)
    candidates, refused = screen(ctx, price, constraints, now)
    costed = []
    for cand in candidates:
        cost = pricing.cost_of(cand.price, per_request, now)
        if cost is None:
            refused["not priced for the request"] += 1
        elif cheaper_only and preferred is not None and cost.total_nanos >= preferred.total_nanos:
            refused["not cheaper"] += 1
        else:
            costed.append((cost.total_nanos, cand.price.model, cand))
    home = price.provider
    costed.sort(key=lambda item: (item[2].price.provider != home, *item[:2]))
    current = preferred.total_nanos if preferred is not None else 0
    tries = {True: 0, False: 0}
    for nanos, _, cand in costed:
        same = cand.price.provider == home
        if tries[same] >= MAX_CANDIDATES:
            refused[f"not tried (only the {MAX_CANDIDATES} cheapest of a side are)"] += 1
            continue
        tries[same] += 1
        result = _dry_run(ctx, cand.price.provider, cand.price.model, request)
        considered.append(_considered(cand.price.provider, cand.price.model, result))
        if result.allowed and not result.over_soft_limit:
            return (recommendation(cand, price, mix, nanos, current), result), ""
        refused["refused by the budget"] += 1
    return None, _none_fits(refused)


def _cheapest(rec: Recommendation, home: str) -> str:
    if rec.provider == home:
        return f"{rec.provider}/{rec.model} is the cheapest {home} model that fits"
    return f"{rec.provider}/{rec.model} is the cheapest model that fits (no {home} model does)"


def _none_fits(refused: Counter[str]) -> str:
    """``no model fits (3 refused by the budget, 12 retired …)``."""
    if not refused:
        return "no other model is priced"
    parts = [f"{n:,} {reason}" for reason, n in refused.most_common()]
    return "no model fits (" + "; ".join(parts) + ")"


def _price_or_none(ctx: EngineContext, model: str, provider: str | None, now: datetime):
    try:
        return current_price(ctx, model, provider, now)
    except BudgetError:
        return None


def _dry_run(ctx: EngineContext, provider: str, model: str, request: dict[str, Any]):
    """What allocate would decide for this model (no advice: routing is the advice)."""
    return dry_run(ctx, build_request(ctx, provider=provider, model=model, **request))


def _considered(provider: str, model: str, result) -> Considered:
    outcome = (
        "denied"
        if not result.allowed
        else "over_soft_limit"
        if result.over_soft_limit
        else "granted"
    )
    return Considered(provider, model, outcome, result.estimated_cost)


def _why_not(result) -> str:
    if not result.allowed:
        return "is denied: " + "; ".join(d.describe() for d in result.denials)
    return "passes a soft limit"


def _returns_at(denials: tuple[Denial, ...]) -> datetime | None:
    """When every refusing window has reset (None: one of them never resets)."""
    resets = [d.resets_at for d in denials]
    if not resets or any(r is None for r in resets):
        return None
    return max(resets)  # type: ignore[type-var]


def _local(ctx: EngineContext) -> tuple[str, str] | None:
    configured = ctx.settings.route_local_model
    if not configured:
        return None
    provider, slash, model = configured.partition("/")
    if not slash or not provider or not model:
        raise ValidationError(
            "route_local_model", configured, "must be provider/model, e.g. ollama/llama3.1"
        )
    return provider.lower(), model.lower()
