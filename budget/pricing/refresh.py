"""The records a price refresh passes around: a source's configuration, what
one fetch of it gave, the stored rows it is weighed against and the plan of
writes it ends with.

The refresh (:mod:`budget.ingest`) makes them, storage
(:mod:`budget.storage.price_history`) writes them and the entry points show
them, so they live here, where all three can use them without depending on one
another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget.domain.prices import Price, PriceRates, ServiceTierRates, TimeOfDayRates
from budget.pricing.refresh_report import PriceChange

#: How many example ids a result keeps per kind of problem.
EXAMPLES = 20

#: The key of a stored price's ``extra`` holding ``{field path: status}``.
FIELD_VERIFICATION = "field_verification"


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


@dataclass
class Fetched:
    """One source's outcome in a run: its result, or why there is none."""

    spec: SourceSpec
    result: SourceResult | None
    status: str
    error: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class Stored:
    """A stored, non-override price row in effect now, and its catalog position."""

    price: Price
    position: int


@dataclass
class Insert:
    """A price row to insert; ``position`` None means after every other row."""

    price: Price
    position: int | None
    change: int | None = None  # index of its PriceChange in Plan.changes


@dataclass
class Plan:
    """Everything one refresh run writes, and what it counts."""

    inserts: list[Insert] = field(default_factory=list)
    end_dated: list[int] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)
    rewrites: dict[int, Price] = field(default_factory=dict)  # kept rows, new ``extra``
    changes: list[PriceChange] = field(default_factory=list)
    per_source: dict[str, Counter[str]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> bool:
        return bool(self.inserts or self.end_dated or self.statuses or self.rewrites)
