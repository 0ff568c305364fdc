"""What a source adapter is, and the helpers its rows are parsed with.

A source maps its payload to :class:`~budget.pricing.refresh.SourceRecord`
objects: one model of one provider, USD per million tokens per token kind (as
a :class:`~budget.domain.prices.PriceRates`), with the source's name and
version. Parsing is tolerant: a row that does not fit is skipped and counted
in the :class:`~budget.pricing.refresh.SourceResult`, never fatal; only a
document that cannot be read at all (bad JSON, wrong shape) fails the source,
with a :class:`~budget.ingest.errors.SourceError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

from budget.domain.prices import PriceRates, Rate, TierRate
from budget.ingest.http import HttpFetcher
from budget.pricing.refresh import SourceResult, SourceSpec

PER_MILLION = Decimal(1_000_000)
PER_THOUSAND = Decimal(1_000)
#: Rates are kept to 9 decimal places of a USD per million tokens.
RATE_QUANTUM = Decimal("1e-9")


class PriceSource(ABC):
    """A source adapter: ``fetch`` returns its prices or raises
    :class:`~budget.ingest.errors.SourceError`."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        """Read the source's current prices."""


def to_decimal(value: Any) -> Any:
    """A finite Decimal from a JSON number or a decimal string (``"$2.50"`` too).

    Floats go through ``str`` so that ``2.5e-06`` becomes ``Decimal("0.0000025")``
    and not the binary fraction nearest to it. Other values are returned as
    they are for pydantic to refuse.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, str):
        value = value.strip().replace("$", "").replace(",", "")
    try:
        result = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        return value
    return result if result.is_finite() else value


#: A decimal field parsed with :func:`to_decimal` (negative values allowed; the
#: adapter decides what a negative means).
Amount = Annotated[Decimal, BeforeValidator(to_decimal)]


def tidy(rate: Decimal) -> Decimal:
    """A rate rounded to :data:`RATE_QUANTUM`, without needless zeros or exponent."""
    value = rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def per_million(amount: Decimal, unit: Decimal) -> Decimal:
    """USD per ``unit`` tokens as USD per million tokens, tidied."""
    return tidy(amount * (PER_MILLION / unit))


def make_rates(
    kinds: dict[str, Decimal | None],
    tiers: dict[str, list[tuple[int, Decimal]]] | None = None,
    per_request: Decimal | None = None,
) -> PriceRates:
    """PriceRates from per-kind USD-per-million rates (None kinds are left out)
    and optional tiers per kind as ``[(start, rate), ...]``."""
    tiers = tiers or {}
    built: dict[str, Rate] = {}
    for kind, base in kinds.items():
        if base is None:
            continue
        steps = tuple(TierRate(start=s, rate=r) for s, r in sorted(tiers.get(kind, ())))
        built[kind] = Rate(base=base, tiers=steps)
    return PriceRates(**built, per_request=per_request)
