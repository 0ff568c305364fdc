"""Price entities: USD per million tokens, exact, per token kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

#: The standard service tier: the rates of ``Price.rates`` and its time-of-day rules.
STANDARD_TIER = "standard"
#: Days of the week as written in a time-of-day rule, Monday first (``datetime.weekday()``).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    cache_write: Rate | None = None  # a cache write kept 5 minutes
    reasoning: Rate | None = None
    per_request: Decimal | None = None  # USD per request, not per million
    cache_write_1h: Rate | None = None  # a cache write kept 1 hour


@dataclass(frozen=True)
class TimeOfDayRates:
    """Rates that replace the base rates between two local times of day.

    ``start``/``end`` are wall-clock times in ``timezone`` (an IANA name; end
    exclusive; a span may wrap past midnight). ``days`` are the weekdays
    (0 = Monday) on which the span *starts*: the early hours of a span that
    wraps belong to the day before. No days means every day. The rule applies
    only from ``effective_from`` (inclusive) to ``effective_to`` (exclusive).
    """

    start: time
    end: time
    rates: PriceRates
    days: frozenset[int] = frozenset()
    timezone: str = "UTC"
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    def covers(self, at: datetime) -> bool:
        """Whether the rule prices a call at ``at`` (a naive ``at`` is UTC)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if self.effective_from is not None and at < self.effective_from:
            return False
        if self.effective_to is not None and at >= self.effective_to:
            return False
        local = at.astimezone(zone(self.timezone))
        t = local.time()
        if self.start <= self.end:
            inside, started = self.start <= t < self.end, local
        elif t >= self.start:
            inside, started = True, local
        else:
            inside, started = t < self.end, local - timedelta(days=1)
        return inside and (not self.days or started.weekday() in self.days)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name`` (``KeyError``-free: raises ``ValueError``)."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise ValueError(f"timezone={name!r}: not an IANA timezone name") from None


@dataclass(frozen=True)
class ServiceTierRates:
    """The rates of a service tier other than standard (``batch``, ``flex``,
    ``priority``): a whole set, used instead of the standard rates."""

    tier: str
    rates: PriceRates


def steps_alike(standard: PriceRates, tier: PriceRates) -> bool:
    """Whether a service tier's rates step up by input size wherever the
    standard rates do. A flat tier under a stepped standard rate would bill a
    long call at the short-call rate, so sources leave such a tier out (the
    tier is then unpriced, and says so, instead of priced low)."""
    for kind in ("input", "output", "cached_input", "cache_write", "cache_write_1h"):
        ours, theirs = getattr(standard, kind), getattr(tier, kind)
        if ours is not None and ours.tiers and theirs is not None and not theirs.tiers:
            return False
    return True


@dataclass(frozen=True)
class Price:
    """The price of one model at one provider over a span of time."""

    provider: str
    model: str
    rates: PriceRates
    source: str
    time_of_day: tuple[TimeOfDayRates, ...] = ()
    service_tiers: tuple[ServiceTierRates, ...] = ()
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

    def rates_at(self, at: datetime, service_tier: str = STANDARD_TIER) -> PriceRates | None:
        """The rates in force at ``at`` for ``service_tier``; None when the
        price has no rates for that tier. Time-of-day rules apply to the
        standard tier; another tier's rates are its own."""
        if service_tier != STANDARD_TIER:
            for tier in self.service_tiers:
                if tier.tier == service_tier:
                    return tier.rates
            return None
        for variant in self.time_of_day:
            if variant.covers(at):
                return variant.rates
        return self.rates

    def tier_names(self) -> tuple[str, ...]:
        """The service tiers this price has rates for, standard first."""
        return (STANDARD_TIER, *(tier.tier for tier in self.service_tiers))


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one call, in the one convention used everywhere:
    ``input_tokens`` includes cached reads and cache writes,
    ``reasoning_tokens`` are part of ``output_tokens``, and
    ``cache_write_1h_tokens`` are the part of ``cache_write_tokens`` written
    to a 1-hour cache (the rest are 5-minute writes)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens - self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


#: The parts of a cost breakdown, in the order they are shown and stored
#: (``<part>_nanos`` on a breakdown and on a ledger row).
COST_PARTS = (
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "reasoning",
    "request",
)


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of one call per token kind, in whole nano-USD; ``total`` is
    the sum of the parts, so a ledger's totals add up exactly.
    ``cache_write_1h_nanos`` is the part of ``cache_write_nanos`` paid for
    1-hour writes (shown apart, not added again)."""

    input_nanos: int = 0
    cached_input_nanos: int = 0
    cache_write_nanos: int = 0
    output_nanos: int = 0
    reasoning_nanos: int = 0
    request_nanos: int = 0
    cache_write_1h_nanos: int = 0

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
            "cache_write_1h": nanos_to_usd(self.cache_write_1h_nanos),
            "output": nanos_to_usd(self.output_nanos),
            "reasoning": nanos_to_usd(self.reasoning_nanos),
            "request": nanos_to_usd(self.request_nanos),
            "total": nanos_to_usd(self.total_nanos),
        }
