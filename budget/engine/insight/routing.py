"""Budget-aware routing: which model to use for a request now.

1. the preferred model, if every matching policy would grant it without
   passing a soft limit (a dry run of allocate: nothing is reserved);
2. else the best qualifying cheaper model that fits: the candidates of
   :func:`~budget.engine.insight.recommend.rank` (nearest first, context
   window at least the request's tokens), the first one the budget grants
   within its soft limits;
3. else the free local model of ``Settings.route_local_model``, if configured
   and granted;
4. else the preferred model over its soft limit, when only soft limits stand
   in the way (a soft limit grants);
5. else a denial that says when the budget returns (the latest reset among
   the windows that refuse the preferred model).

Allocation's soft-limit suggestion (``recommended_model`` of allocate and
check) is :func:`suggest_cheaper`: the same ranking, restricted to the same
provider and a context window at least the current model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from budget.domain import validation as v
from budget.domain.clock import utcnow
from budget.domain.models import RequestAttributes
from budget.engine.context import EngineContext
from budget.engine.insight.capabilities import parse_capabilities
from budget.engine.insight.recommend import (
    Constraints,
    Recommendation,
    current_price,
    parse_tier,
    rank,
    token_mix,
)
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


@dataclass(frozen=True)
class Considered:
    """A model routing looked at, and what the budget said."""

    provider: str
    model: str
    outcome: str  # granted / over_soft_limit / denied
    estimated_cost: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        cost = None if self.estimated_cost is None else format(self.estimated_cost, "f")
        return {
            "provider": self.provider,
            "model": self.model,
            "outcome": self.outcome,
            "estimated_cost": cost,
        }


@dataclass(frozen=True)
class RouteDecision:
    """The model to use now (or a denial), and why."""

    decision: str  # preferred / cheaper / local / preferred_over_soft_limit / denied
    provider: str | None
    model: str | None
    preferred_provider: str | None
    preferred_model: str
    reason: str
    tokens: int
    estimated_cost: Decimal | None
    over_soft_limit: bool
    retry_at: datetime | None
    denials: tuple[Denial, ...]
    considered: tuple[Considered, ...]
    recommendation: Recommendation | None = None

    @property
    def allowed(self) -> bool:
        return self.decision != "denied"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings, times ISO-8601."""
        return {
            "decision": self.decision,
            "allowed": self.allowed,
            "provider": self.provider,
            "model": self.model,
            "preferred_provider": self.preferred_provider,
            "preferred_model": self.preferred_model,
            "reason": self.reason,
            "tokens": self.tokens,
            "estimated_cost": None
            if self.estimated_cost is None
            else format(self.estimated_cost, "f"),
            "over_soft_limit": self.over_soft_limit,
            "retry_at": None if self.retry_at is None else self.retry_at.isoformat(),
            "denials": [d.to_dict() for d in self.denials],
            "considered": [c.to_dict() for c in self.considered],
            "recommendation": None
            if self.recommendation is None
            else self.recommendation.to_dict(),
        }


def suggest_cheaper(
    ctx: EngineContext, attrs: RequestAttributes, at: datetime, conn: Connection | None = None
) -> str | None:
    """The cheaper model allocate and check suggest over a soft limit (or on a denial):
    a configured fallback, else the first of the same ranking routing uses."""
    if not attrs.provider or not attrs.model:
        return None
    if attrs.model in ctx.settings.fallback_models:
        return ctx.settings.fallback_models[attrs.model]
    try:
        current = current_price(ctx, attrs.model, attrs.provider, at)
        if conn is None:
            with ctx.db.read() as own:
                mix = token_mix(own, current, at, attrs.task_type)
        else:
            mix = token_mix(conn, current, at, attrs.task_type)
        limits = Constraints(same_provider=True, min_context_window=current.context_window)
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

    if first.allowed and not first.over_soft_limit:
        return decide("preferred", "the budget allows the preferred model")
    if price is not None:
        constraints = Constraints(
            same_provider=same_provider,
            min_context_window=max(
                v.positive_tokens("min_context_window", min_context_window) or 0,
                inputs + outputs,
            )
            or None,
            capabilities=parse_capabilities(capabilities),
            max_tier=parse_tier(max_tier),
        )
        with ctx.db.read() as conn:
            mix = token_mix(conn, price, now, v.text("task_type", task_type, max_len=100))
        for rec in rank(ctx, price, mix, constraints, now)[:MAX_CANDIDATES]:
            result = _dry_run(ctx, rec.provider, rec.model, request)
            considered.append(_considered(rec.provider, rec.model, result))
            if result.allowed and not result.over_soft_limit:
                why = "the preferred model " + _why_not(first) + f"; {rec.model} fits the budget"
                return decide(
                    "cheaper",
                    why,
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
            why = "the preferred model " + _why_not(first) + "; no cheaper model fits: local model"
            return decide(
                "local",
                why,
                provider=local[0],
                model=local[1],
                estimated_cost=result.estimated_cost,
            )
    if first.allowed:
        why = "only soft limits are passed and no cheaper model fits: the preferred model"
        return decide("preferred_over_soft_limit", why, over_soft_limit=True)
    return decide(
        "denied",
        "the preferred model " + _why_not(first) + "; no cheaper or local model fits",
        provider=None,
        model=None,
        estimated_cost=None,
        retry_at=_returns_at(first.denials),
        denials=first.denials,
    )


def _price_or_none(ctx: EngineContext, model: str, provider: str | None, now: datetime):
    try:
        return current_price(ctx, model, provider, now)
    except BudgetError:
        return None


def _dry_run(ctx: EngineContext, provider: str, model: str, request: dict[str, Any]):
    # allocate and check import this module (suggest_cheaper): import them here.
    from budget.engine.allocate import build_request
    from budget.engine.check import check

    return check(ctx, build_request(ctx, provider=provider, model=model, **request))


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
