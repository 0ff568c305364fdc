"""What routing answers: the decision, the models it considered, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.engine.insight.recommend import Recommendation
from budget.errors import Denial

__all__ = ["Considered", "RouteDecision"]


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

    # preferred / cheaper / larger_context / local / preferred_over_soft_limit / denied
    decision: str
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
