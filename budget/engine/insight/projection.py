"""What a forecast says about one window: its projections per limit dimension.

Plain values, shared by the forecast that computes them
(:mod:`budget.engine.insight.forecast`) and the alert raised on them
(:mod:`budget.engine.insight.forecast_alert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.enums import Period, PolicyType


@dataclass(frozen=True)
class Projection:
    """One limit dimension of a window (``usd`` or ``tokens``); rates are per hour."""

    unit: str
    limit: Decimal | None
    used: Decimal
    reserved: Decimal
    average_rate: Decimal
    recent_rate: Decimal | None
    rate: Decimal
    projected: Decimal
    projected_share: Decimal | None
    will_exceed: bool
    exceeds_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def text(x: Decimal | None) -> str | None:
            return None if x is None else format(x, "f")

        return {
            "unit": self.unit,
            "limit": text(self.limit),
            "used": text(self.used),
            "reserved": text(self.reserved),
            "average_rate_per_hour": text(self.average_rate),
            "recent_rate_per_hour": text(self.recent_rate),
            "rate_per_hour": text(self.rate),
            "projected": text(self.projected),
            "projected_share": text(self.projected_share),
            "will_exceed": self.will_exceed,
            "exceeds_at": None if self.exceeds_at is None else self.exceeds_at.isoformat(),
        }


@dataclass(frozen=True)
class Forecast:
    """Spend so far, the rate and the projected total of one policy's current window."""

    budget_id: str
    policy_id: str
    policy_name: str
    policy_type: PolicyType
    period: Period
    window: str
    starts_at: datetime
    resets_at: datetime
    as_of: datetime
    elapsed_hours: Decimal
    remaining_hours: Decimal
    recent_hours: Decimal
    usd: Projection
    tokens: Projection
    confident: bool
    alert_raised: bool = False

    @property
    def will_exceed(self) -> bool:
        """A projection passes a limit the window has not reached yet."""
        return self.usd.will_exceed or self.tokens.will_exceed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money and rates as decimal strings, times ISO-8601."""
        return {
            "budget_id": self.budget_id,
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "policy_type": self.policy_type.value,
            "period": self.period.value,
            "window": self.window,
            "starts_at": self.starts_at.isoformat(),
            "resets_at": self.resets_at.isoformat(),
            "as_of": self.as_of.isoformat(),
            "elapsed_hours": format(self.elapsed_hours, "f"),
            "remaining_hours": format(self.remaining_hours, "f"),
            "recent_hours": format(self.recent_hours, "f"),
            "usd": self.usd.to_dict(),
            "tokens": self.tokens.to_dict(),
            "will_exceed": self.will_exceed,
            "confident": self.confident,
            "alert_raised": self.alert_raised,
        }
