"""The price-source framework: what a source is, what it yields, how rows are parsed.

A source maps its payload to :class:`SourceRecord` objects: one model of one
provider, USD per million tokens per token kind (as a
:class:`~budget.domain.prices.PriceRates`), with the source's name and version.
Parsing is tolerant: a row that does not fit is skipped and counted in the
:class:`SourceResult`, never fatal; only a document that cannot be read at all
(bad JSON, wrong shape) fails the source, with a :class:`SourceError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator

from budget.domain.prices import PriceRates, Rate, ServiceTierRates, TierRate, TimeOfDayRates

if TYPE_CHECKING:
    from budget.pricing.sources.http import HttpFetcher

PER_MILLION = Decimal(1_000_000)
PER_THOUSAND = Decimal(1_000)
#: Rates are kept to 9 decimal places of a USD per million tokens.
RATE_QUANTUM = Decimal("1e-9")
#: How many example ids a result keeps per kind of problem.
EXAMPLES = 20


class SourceError(Exception):
    """A source could not deliver prices this time (network, status, bad document)."""


class SourceUnavailable(SourceError):
    """An offline source whose package or file is not installed here."""


@dataclass(frozen=True)
class SourceSpec:
    """One configured source: what it is and how it is trusted and refreshed.

    ``lineage`` names the data set a source comes from: two sources with the
    same lineage (LiteLLM's file from the network and from the installed
    wheel) are one witness, not two, when prices are verified.
    """

    name: str
    kind: str
    lineage: str
    trust: Decimal
    refresh_interval_seconds: int
    active: bool = True
    network: bool = False
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRecord:
    """One model's price as a source gives it, in Budget's units."""

    provider: str
    model: str
    raw_id: str
    rates: PriceRates
    name: str | None = None
    context_window: int | None = None
    match: tuple[dict, ...] = ()
    time_of_day: tuple[TimeOfDayRates, ...] = ()
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    service_tiers: tuple[ServiceTierRates, ...] = ()

    def in_effect(self, at: datetime) -> bool:
        """True when the record's dates (if any) cover ``at``."""
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to


@dataclass
class SourceResult:
    """What one fetch of one source produced."""

    source: str
    records: list[SourceRecord] = field(default_factory=list)
    version: str | None = None
    not_modified: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    def skip(self, reason: str, row_id: object) -> None:
        """Count a row left out, keeping a few example ids per reason."""
        self.skipped[reason] += 1
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < EXAMPLES:
            bucket.append(str(row_id))

    def unmappable(self, row_id: object) -> None:
        """Count an id that names no provider and so maps to no model."""
        self.skip("unmapped id", row_id)
        self.unmapped.append(str(row_id))

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())


class PriceSource(ABC):
    """A source adapter: ``fetch`` returns its prices or raises :class:`SourceError`."""

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
