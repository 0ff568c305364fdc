"""The event types and the Event record every delivery channel carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ALLOCATION_CREATED = "allocation.created"
ALLOCATION_RELEASED = "allocation.released"
ALLOCATION_EXPIRED = "allocation.expired"
USAGE_RECORDED = "usage.recorded"
USAGE_CORRECTED = "usage.corrected"
LIMIT_APPROACHING = "budget.limit_approaching"
LIMIT_EXCEEDED = "budget.limit_exceeded"
FORECAST_EXCEEDS = "budget.forecast_exceeds"
UNPRICED_MODEL = "price.unpriced_model"
PRICE_UPDATE = "budget.price_update"
PRICE_CONFLICT = "price.conflict"

#: Every event type, with what it reports (docs/events.md has sample payloads).
EVENT_TYPES: dict[str, str] = {
    ALLOCATION_CREATED: "an allocation was granted (tokens and USD reserved)",
    ALLOCATION_RELEASED: "an allocation was released; its unused part returned",
    ALLOCATION_EXPIRED: "an allocation passed its expiry unreleased; its unused part returned",
    USAGE_RECORDED: "a usage record was appended to the ledger",
    USAGE_CORRECTED: "a usage record was voided or adjusted by a compensating ledger entry",
    LIMIT_APPROACHING: "a policy window passed a warning or action threshold",
    LIMIT_EXCEEDED: "a policy window reached its limit, or a hard limit denied an allocation",
    FORECAST_EXCEEDS: "a window's forecast passes a limit it has not reached yet (its alert)",
    UNPRICED_MODEL: "usage or an allocation named a model without a known price",
    PRICE_UPDATE: "a model's price changed (refresh or manual override)",
    PRICE_CONFLICT: "independent price sources disagree about a model (old price kept)",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened, as stored in the outbox.

    ``event_id`` is unique (receivers dedupe on it); ``sequence`` is the
    position in commit order that streams resume from (None until assigned:
    on PostgreSQL the outbox sequences committed events shortly after commit).
    """

    event_id: str
    type: str
    time: datetime
    data: dict[str, Any]
    budget_ids: tuple[str, ...] = ()
    sequence: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of a webhook delivery or an SSE message."""
        return {
            "id": self.event_id,
            "sequence": self.sequence,
            "type": self.type,
            "time": self.time.isoformat(),
            "budget_ids": list(self.budget_ids),
            "data": self.data,
        }

    def matches(self, types: frozenset[str] | None, budget_id: str | None) -> bool:
        """True if the event passes a type filter (None: any) and a budget filter."""
        if types and self.type not in types:
            return False
        return budget_id is None or budget_id in self.budget_ids
