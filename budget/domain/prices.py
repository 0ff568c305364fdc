"""Price entities: USD per million tokens, exact, per token kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal


@dataclass(frozen=True)
class TierRate:
    """A rate that applies to *all* tokens of a kind once the request's total
    input tokens exceed ``start`` (the "cliff" model providers use)."""

    start: int
    rate: Decimal


@dataclass(frozen=True)
class Rate:
    """USD per million tokens, with optional tiers above a total-input size."""

    base: Decimal
    tiers: tuple[TierRate, ...] = ()

    def at(self, total_input_tokens: int) -> Decimal:
        """The rate that applies to a request with this many input tokens."""
        applicable = self.base
        for tier in sorted(self.tiers, key=lambda t: t.start):
            if total_input_tokens > tier.start:
                applicable = tier.rate
        return applicable


@dataclass(frozen=True)
class PriceRates:
    """One set of rates. A missing cache or reasoning rate means those tokens
    are billed at the plain input or output rate."""

    input: Rate | None = None
    output: Rate | None = None
    cached_input: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    per_request: Decimal | None = None  # USD per request, not per million


@dataclass(frozen=True)
class TimeOfDayRates:
    """Rates that replace the base rates between two UTC times of day
    (end exclusive; a span may wrap past midnight)."""

    start: time
    end: time
    rates: PriceRates

    def covers(self, at: datetime) -> bool:
        t = at.timetz().replace(tzinfo=None) if at.tzinfo else at.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class Price:
    """The price of one model at one provider over a span of time."""

    provider: str
    model: str
    rates: PriceRates
    source: str
    time_of_day: tuple[TimeOfDayRates, ...] = ()
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    match: tuple[dict, ...] = ()
    context_window: int | None = None
    source_version: str | None = None
    verification: str = "unverified"
    is_override: bool = False
    price_id: int | None = None
    name: str | None = None
    extra: dict = field(default_factory=dict)

    def rates_at(self, at: datetime) -> PriceRates:
        """The rates in force at ``at`` (time-of-day variants included)."""
        for variant in self.time_of_day:
            if variant.covers(at):
                return variant.rates
        return self.rates


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one call, in the one convention used everywhere:
    ``input_tokens`` includes cached reads and cache writes, and
    ``reasoning_tokens`` are part of ``output_tokens``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens - self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of one call per token kind, in whole nano-USD; ``total`` is
    the sum of the parts, so a ledger's totals add up exactly."""

    input_nanos: int = 0
    cached_input_nanos: int = 0
    cache_write_nanos: int = 0
    output_nanos: int = 0
    reasoning_nanos: int = 0
    request_nanos: int = 0

    @property
    def total_nanos(self) -> int:
        return (
            self.input_nanos
            + self.cached_input_nanos
            + self.cache_write_nanos
            + self.output_nanos
            + self.reasoning_nanos
            + self.request_nanos
        )

    @property
    def total_usd(self) -> Decimal:
        from budget.domain.money import nanos_to_usd

        return nanos_to_usd(self.total_nanos)

    def as_usd(self) -> dict[str, Decimal]:
        from budget.domain.money import nanos_to_usd

        return {
            "input": nanos_to_usd(self.input_nanos),
            "cached_input": nanos_to_usd(self.cached_input_nanos),
            "cache_write": nanos_to_usd(self.cache_write_nanos),
            "output": nanos_to_usd(self.output_nanos),
            "reasoning": nanos_to_usd(self.reasoning_nanos),
            "request": nanos_to_usd(self.request_nanos),
            "total": nanos_to_usd(self.total_nanos),
        }
