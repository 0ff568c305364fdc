"""The cost of one call: tokens of each kind times that kind's rate, exactly.

Token convention (see ``TokenUsage``): ``input_tokens`` counts *all* input,
cache reads and cache writes included; ``reasoning_tokens`` are part of
``output_tokens``. Each kind is billed once:

* uncached input (input - cached - cache writes) at the input rate;
* cache reads at the cached-input rate, else the input rate;
* cache writes at the cache-write rate, else the input rate; the 1-hour
  writes among them (``cache_write_1h_tokens``) at the 1-hour rate. A price
  without a 1-hour rate but with a 5-minute one cannot price 1-hour writes
  (:class:`MissingRate`: the call is unpriced, never billed at the 5-minute
  rate); a price with neither bills all writes at the input rate;
* reasoning tokens at the reasoning rate when there is one, the rest of the
  output (or all of it, when there is no reasoning rate) at the output rate;
* the per-request fee once.

The rates are those of the call's service tier (``standard`` by default,
with its time-of-day rules; a tier the price lacks raises
:class:`MissingServiceTier`). The tier of every rate is chosen by the
request's total input tokens. Each part is ``tokens * rate / 1_000_000`` in
exact Decimal arithmetic, rounded once to whole nano-USD; the total is the sum of the rounded parts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, localcontext

from budget.domain.limits import INT64_MAX
from budget.domain.money import nanos_to_usd, usd_to_nanos
from budget.domain.prices import (
    STANDARD_TIER,
    CostBreakdown,
    Price,
    PriceRates,
    Rate,
    TokenUsage,
)
from budget.errors import ValidationError

TOKENS_PER_UNIT = 1_000_000  # rates are USD per million tokens
_PRECISION = 60  # digits: enough that tokens x rate is never rounded


class MissingRate(ValueError):
    """Tokens of a kind were used but the price has no rate for them.

    A plain ``ValueError`` to callers that treat such a model as unpriced.
    """

    def __init__(self, price: Price, kind: str, tokens: int) -> None:
        super().__init__(
            f"price of model={price.model!r} (provider={price.provider!r}) has no rate for "
            f"{kind} tokens, but the usage has {tokens} of them"
        )
        self.kind = kind
        self.tokens = tokens


class MissingServiceTier(MissingRate):
    """The call asks for a service tier the price has no rates for."""

    def __init__(self, price: Price, service_tier: str) -> None:
        ValueError.__init__(
            self,
            f"price of model={price.model!r} (provider={price.provider!r}) has no rates for "
            f"service_tier={service_tier!r} (it has {', '.join(price.tier_names())})",
        )
        self.kind = "service tier"
        self.tokens = 0
        self.service_tier = service_tier


def compute_cost(
    price: Price, usage: TokenUsage, at: datetime, service_tier: str = STANDARD_TIER
) -> CostBreakdown:
    """The cost of ``usage`` under ``price`` at time ``at``, per token kind, in nano-USD.

    ``at`` picks time-of-day rates (a naive ``at`` is UTC); ``service_tier``
    the set of rates. Raises :class:`~budget.errors.ValidationError` for
    inconsistent counts and :class:`MissingRate` (a ``ValueError``; also
    :class:`MissingServiceTier`) when tokens of a kind exist but no rate
    applies to them.
    """
    _check_usage(usage)
    rates = price.rates_at(_as_utc(at), service_tier)
    if rates is None:
        raise MissingServiceTier(price, service_tier)
    tier_tokens = usage.input_tokens
    input_rate = _rate(rates.input, tier_tokens)

    def part(tokens: int, rate: Decimal | None, kind: str) -> int:
        if tokens == 0:
            return 0
        if rate is None:
            raise MissingRate(price, kind, tokens)
        return _nanos(tokens, rate)

    cached_rate = _rate(rates.cached_input, tier_tokens, fallback=input_rate)
    write_rate = _rate(rates.cache_write, tier_tokens, fallback=input_rate)
    # Without any cache-write rate writes are not priced apart (input rate);
    # with only the 5-minute one, a 1-hour write has no rate.
    hour_rate = _rate(
        rates.cache_write_1h,
        tier_tokens,
        fallback=input_rate if rates.cache_write is None else None,
    )
    hour_nanos = part(usage.cache_write_1h_tokens, hour_rate, "1-hour cache write")
    reasoning_rate = _rate(rates.reasoning, tier_tokens)
    output_rate = _rate(rates.output, tier_tokens)
    if reasoning_rate is None:
        plain_output, reasoning = usage.output_tokens, 0
    else:
        plain_output, reasoning = (
            usage.output_tokens - usage.reasoning_tokens,
            usage.reasoning_tokens,
        )

    breakdown = CostBreakdown(
        input_nanos=part(usage.uncached_input_tokens, input_rate, "input"),
        cached_input_nanos=part(usage.cached_input_tokens, cached_rate, "cached input"),
        cache_write_nanos=part(
            usage.cache_write_tokens - usage.cache_write_1h_tokens, write_rate, "cache write"
        )
        + hour_nanos,
        cache_write_1h_nanos=hour_nanos,
        output_nanos=part(plain_output, output_rate, "output"),
        reasoning_nanos=part(reasoning, reasoning_rate, "reasoning"),
        request_nanos=_request_nanos(rates),
    )
    if breakdown.total_nanos > INT64_MAX:
        raise ValidationError(
            "input_tokens",
            usage.input_tokens,
            f"the cost of this usage (USD {nanos_to_usd(breakdown.total_nanos):,}) is more "
            "than one record can hold; report it in smaller parts",
        )
    return breakdown


def estimate_cost(
    price: Price,
    input_tokens: int,
    output_tokens: int,
    at: datetime,
    service_tier: str = STANDARD_TIER,
) -> CostBreakdown:
    """The cost of a plain call (no cache, no separate reasoning) — for estimates."""
    usage = TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return compute_cost(price, usage, at, service_tier)


def _rate(rate: Rate | None, tier_tokens: int, fallback: Decimal | None = None) -> Decimal | None:
    """The applicable per-million rate, or ``fallback`` when there is none."""
    return rate.at(tier_tokens) if rate is not None else fallback


def _nanos(tokens: int, rate_per_million: Decimal) -> int:
    """``tokens x rate / 1e6`` USD, exact, rounded once to whole nano-USD."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        amount = Decimal(tokens) * rate_per_million / TOKENS_PER_UNIT
        return usd_to_nanos(amount)


def _request_nanos(rates: PriceRates) -> int:
    if rates.per_request is None:
        return 0
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return usd_to_nanos(rates.per_request)


def _as_utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at


def _check_usage(usage: TokenUsage) -> None:
    for name in (
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cache_write_1h_tokens",
    ):
        value = getattr(usage, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(name, value, "must be a non-negative integer")
    if usage.uncached_input_tokens < 0:
        raise ValidationError(
            "cached_input_tokens",
            usage.cached_input_tokens,
            f"cached reads + cache writes ({usage.cached_input_tokens} + "
            f"{usage.cache_write_tokens}) exceed input_tokens ({usage.input_tokens}); "
            "input_tokens must include them",
        )
    if usage.reasoning_tokens > usage.output_tokens:
        raise ValidationError(
            "reasoning_tokens",
            usage.reasoning_tokens,
            f"exceeds output_tokens ({usage.output_tokens}); output_tokens must include them",
        )
    if usage.cache_write_1h_tokens > usage.cache_write_tokens:
        raise ValidationError(
            "cache_write_1h_tokens",
            usage.cache_write_1h_tokens,
            f"exceeds cache_write_tokens ({usage.cache_write_tokens}); "
            "cache_write_tokens must include them",
        )
