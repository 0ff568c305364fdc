"""Verification of a model's price across independent sources, per token kind.

Each source's claim is grouped by *lineage* (the data set it comes from; two
sources that copy one another are one witness) and, per token kind, claims
that agree within the tolerance (relative *or* absolute) form a cluster:

* one cluster backed by two or more lineages: **verified**;
* one cluster backed by one lineage: **unverified** (the source's trust stands);
* several clusters, one backed by more lineages than any other (and by two at
  least): **verified** by the majority; the others are *outliers*;
* several clusters and no such majority: **conflict**.

Beyond the base rates, every field a price states is verified the same way
(:mod:`budget.ingest.fields`): tier thresholds and rates, time-of-day
variants, per-request fees, effective dates and any field the price model
gains later. A field only one lineage states is ``unverified`` for that field
whatever the base rates say; two lineages stating it differently, with no
majority, put it (and the model) in conflict. The per-field verdicts are on
:attr:`ModelVerdict.fields`.

A model is in conflict if any kind or field is; verified if its input and
output rates (those it has) are; unverified otherwise. Disagreements are labelled with
their likely cause where the numbers tell it: a ~1e6x or ~1000x ratio is a unit
error, ~2x a batch or discounted tier, a cache-read rate equal to another
source's cache-write rate (or the reverse) a cache read/write mix-up.

The sanity rules that flag a source's row as unusable are
:mod:`budget.pricing.sanity`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget.domain.prices import PriceRates, Rate, ServiceTierRates, TimeOfDayRates
from budget.ingest.fields import FieldVerdict, Scalar, price_fields, verify_fields
from budget.pricing.sanity import KINDS, REQUIRED

VERIFIED = "verified"
UNVERIFIED = "unverified"
CONFLICT = "conflict"
_OTHER_CACHE = {"cached_input": "cache_write", "cache_write": "cached_input"}


@dataclass(frozen=True)
class Tolerance:
    """Two rates agree when they differ by at most ``absolute`` USD per million
    or by at most ``relative`` of the larger one."""

    relative: Decimal = Decimal("0.01")
    absolute: Decimal = Decimal("0.000001")

    def agree(self, a: Decimal, b: Decimal) -> bool:
        """True when ``a`` and ``b`` are the same price within the tolerance."""
        return abs(a - b) <= max(self.absolute, self.relative * max(abs(a), abs(b)))


@dataclass(frozen=True)
class Evidence:
    """What one source says a model costs. A *witness* is the stored price
    standing in for a lineage that did not report in this run."""

    source: str
    lineage: str
    trust: Decimal
    rates: PriceRates
    witness: bool = False
    time_of_day: tuple[TimeOfDayRates, ...] = ()
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    service_tiers: tuple[ServiceTierRates, ...] = ()

    @property
    def fields(self) -> dict[str, Scalar]:
        """Every field this evidence states, flattened (see :mod:`budget.ingest.fields`)."""
        return price_fields(
            self.rates,
            self.time_of_day,
            self.effective_from,
            self.effective_to,
            self.service_tiers,
        )


@dataclass(frozen=True)
class Claim:
    """One lineage's rate for one token kind."""

    source: str
    lineage: str
    trust: Decimal
    rate: Rate

    @property
    def value(self) -> Decimal:
        return self.rate.base


@dataclass(frozen=True)
class KindVerdict:
    """The outcome for one token kind."""

    kind: str
    status: str
    rate: Rate | None
    agreeing: tuple[Claim, ...]
    outliers: tuple[Claim, ...] = ()
    causes: tuple[str, ...] = ()

    @property
    def claims(self) -> tuple[Claim, ...]:
        return self.agreeing + self.outliers


@dataclass(frozen=True)
class ModelVerdict:
    """The outcome for one model: status, per-kind verdicts, the agreed rates."""

    status: str
    kinds: dict[str, KindVerdict]
    rates: PriceRates
    primary: Evidence
    evidence: tuple[Evidence, ...] = field(default=())
    fields: dict[str, FieldVerdict] = field(default_factory=dict)

    @property
    def causes(self) -> tuple[str, ...]:
        """Every distinct likely cause of a disagreement, in kind then field order."""
        kinds = (c for kv in self.kinds.values() for c in kv.causes)
        others = (field_cause(path) for path in self.disputed_fields if path not in KINDS)
        return tuple(dict.fromkeys((*kinds, *others)))

    @property
    def conflicting_kinds(self) -> tuple[str, ...]:
        return tuple(k for k, kv in self.kinds.items() if kv.status == CONFLICT)

    @property
    def conflicting_fields(self) -> tuple[str, ...]:
        """Every field in conflict (base-rate kinds included), by path."""
        return tuple(p for p, fv in self.fields.items() if fv.status == CONFLICT)

    @property
    def disputed_fields(self) -> tuple[str, ...]:
        """Every field some lineage stated differently (held by a majority or not)."""
        return tuple(p for p, fv in self.fields.items() if fv.outliers)

    def field_statuses(self) -> dict[str, str]:
        """``{path: status}`` of every field stated."""
        return {path: fv.status for path, fv in self.fields.items()}


def field_cause(path: str) -> str:
    """A label for a disagreement on a field other than a base rate."""
    if ".tiers[" in path:
        what = "threshold" if path.endswith(".start") else "rate"
        return f"tier {what} differs ({path})"
    if path.startswith("time_of_day"):
        return f"time-of-day variant differs ({path})"
    if path in ("effective_from", "effective_to"):
        return f"effective dates differ ({path})"
    return f"{path} differs"


def best_per_lineage(evidence: Iterable[Evidence]) -> list[Evidence]:
    """One piece of evidence per lineage: the most trusted (a fresh report beats
    a witness), in order of decreasing trust."""
    best: dict[str, Evidence] = {}
    # In source-name order, so a tie goes to the same source whatever the input order.
    for item in sorted(evidence, key=lambda e: (e.source, e.witness)):
        held = best.get(item.lineage)
        if held is None or _rank(item) > _rank(held):
            best[item.lineage] = item
    return sorted(best.values(), key=lambda e: (-e.trust, e.source))


def verify(evidence: Sequence[Evidence], tolerance: Tolerance) -> ModelVerdict:
    """The verdict on one model from every source's evidence about it."""
    if not evidence:
        raise ValueError("verify() needs at least one piece of evidence")
    chosen = best_per_lineage(evidence)
    by_source = {e.source: e for e in chosen}
    fields = verify_fields(((e.source, e.lineage, e.fields) for e in chosen), tolerance)
    kinds: dict[str, KindVerdict] = {}
    for kind in KINDS:
        claims = [
            Claim(e.source, e.lineage, e.trust, getattr(e.rates, kind))
            for e in chosen
            if getattr(e.rates, kind) is not None
        ]
        if claims:
            kinds[kind] = _verify_kind(kind, claims, tolerance, by_source)
    return ModelVerdict(
        status=_model_status(kinds, fields),
        kinds=kinds,
        rates=_agreed_rates(kinds, chosen[0]),
        primary=_primary(kinds, by_source, chosen[0]),
        evidence=tuple(chosen),
        fields=fields,
    )


def _rank(item: Evidence) -> tuple[bool, Decimal]:
    return (not item.witness, item.trust)


def _verify_kind(
    kind: str, claims: list[Claim], tol: Tolerance, by_source: dict[str, Evidence]
) -> KindVerdict:
    clusters: list[list[Claim]] = []
    for claim in claims:  # most trusted first, so each cluster's head is its best
        home = next((c for c in clusters if tol.agree(c[0].value, claim.value)), None)
        if home is None:
            clusters.append([claim])
        else:
            home.append(claim)
    clusters.sort(key=lambda c: (-len(c), -sum(x.trust for x in c)))
    best = clusters[0]
    others = [claim for cluster in clusters[1:] for claim in cluster]
    causes = tuple(
        dict.fromkeys(likely_cause(kind, best[0], c[0], tol, by_source) for c in clusters[1:])
    )
    if len(clusters) == 1:
        status = VERIFIED if len(best) >= 2 else UNVERIFIED
    elif len(best) >= 2 and len(best) > len(clusters[1]):
        status = VERIFIED
    else:
        return KindVerdict(kind, CONFLICT, None, tuple(best), tuple(others), causes)
    return KindVerdict(kind, status, _cluster_rate(best), tuple(best), tuple(others), causes)


def _cluster_rate(cluster: list[Claim]) -> Rate:
    """The most trusted claim's rate, with tiers from the first claim that has them."""
    head = cluster[0].rate
    if head.tiers:
        return head
    tiered = next((c.rate for c in cluster if c.rate.tiers), None)
    return head if tiered is None else Rate(base=head.base, tiers=tiered.tiers)


def likely_cause(
    kind: str, agreed: Claim, other: Claim, tol: Tolerance, by_source: dict[str, Evidence]
) -> str:
    """A label for why ``other`` disagrees with ``agreed`` on ``kind``."""
    twin = _OTHER_CACHE.get(kind)
    if twin is not None:
        twin_rate = getattr(by_source[agreed.source].rates, twin)
        if twin_rate is not None and tol.agree(twin_rate.base, other.value):
            return "cache read/write mix-up"
    low, high = sorted((agreed.value, other.value))
    if low == 0:
        return "one source gives 0 (a free tier or a missing price)"
    ratio = high / low
    if _near(ratio, Decimal(1_000_000)):
        return "unit error: per token vs per million tokens (~1e6x)"
    if _near(ratio, Decimal(1000)):
        return "unit error: per thousand vs per million tokens (~1000x)"
    if _near(ratio, Decimal(2), Decimal("0.02")):
        return "2x: a batch or discounted tier vs the standard price"
    return f"prices differ ({ratio:.3g}x)"


def _near(value: Decimal, target: Decimal, within: Decimal = Decimal("0.05")) -> bool:
    return abs(value / target - 1) <= within


def _model_status(kinds: dict[str, KindVerdict], fields: dict[str, FieldVerdict]) -> str:
    if any(kv.status == CONFLICT for kv in kinds.values()):
        return CONFLICT
    if any(fv.status == CONFLICT for fv in fields.values()):
        return CONFLICT
    required = [kinds[k] for k in REQUIRED if k in kinds]
    if required and all(kv.status == VERIFIED for kv in required):
        return VERIFIED
    return UNVERIFIED


def _agreed_rates(kinds: dict[str, KindVerdict], first: Evidence) -> PriceRates:
    agreed = {k: kv.rate for k, kv in kinds.items() if kv.rate is not None}
    return PriceRates(**agreed, per_request=first.rates.per_request)


def _primary(
    kinds: dict[str, KindVerdict], by_source: dict[str, Evidence], first: Evidence
) -> Evidence:
    """The most trusted evidence behind the input (else output) rate."""
    for kind in REQUIRED:
        verdict = kinds.get(kind)
        if verdict is not None and verdict.agreeing:
            return by_source[verdict.agreeing[0].source]
    return first
