"""Every field a price states, as flat ``path -> value`` pairs, and a verdict per field.

A price is walked through its serialized form
(:func:`budget.pricing.serialize.rates_to_dict`), so a field the price model
gains later (a service tier, a new cache-write duration, a per-request fee) is
compared without changing this module. Paths read like the JSON they come
from: ``input``, ``input.tiers[0].start``, ``input.tiers[0].rate``,
``time_of_day[0].start``, ``time_of_day[0].rates.output``, ``per_request``,
``effective_from``. A tiered rate's base is its kind's own path (``input``),
so a source with tiers and one without still compare their base rates.

Values compare as numbers within the tolerance when both read as numbers
(rates, tier thresholds), as days for effective dates, and exactly otherwise
(times of day, weekdays, timezones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from budget.domain.prices import PriceRates, ServiceTierRates, TimeOfDayRates
from budget.pricing.serialize import rates_to_dict

VERIFIED = "verified"
UNVERIFIED = "unverified"
CONFLICT = "conflict"
DATE_FIELDS = ("effective_from", "effective_to")

Scalar = str | int | bool | None


class Agrees(Protocol):
    def agree(self, a: Decimal, b: Decimal) -> bool: ...


def price_fields(
    rates: PriceRates,
    time_of_day: Iterable[TimeOfDayRates] = (),
    effective_from: datetime | None = None,
    effective_to: datetime | None = None,
    service_tiers: Iterable[ServiceTierRates] = (),
) -> dict[str, Scalar]:
    """Every field stated by these rates, variants, dates and service tiers, flattened."""
    out: dict[str, Scalar] = {}
    _walk(rates_to_dict(rates, tuple(time_of_day), tuple(service_tiers)), "", out)
    for name, value in zip(DATE_FIELDS, (effective_from, effective_to), strict=True):
        if value is not None:
            out[name] = value.date().isoformat()
    return out


def _walk(node: Any, path: str, out: dict[str, Scalar]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "base":
                _walk(value, path, out)
            elif key == "tiers" and isinstance(value, list):
                for i, tier in enumerate(value):
                    if isinstance(tier, list | tuple) and len(tier) == 2:
                        out[f"{path}.tiers[{i}].start"] = tier[0]
                        out[f"{path}.tiers[{i}].rate"] = tier[1]
                    else:
                        _walk(tier, f"{path}.tiers[{i}]", out)
            else:
                _walk(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            _walk(item, f"{path}[{i}]", out)
    else:
        out[path] = node


def same_value(a: Scalar, b: Scalar, tolerance: Agrees) -> bool:
    """True when two stated values are the same (numbers within the tolerance)."""
    if a == b:
        return True
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return tolerance.agree(x, y)
    return a == b


def _number(value: Scalar) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class FieldClaim:
    """One lineage's value for one field."""

    source: str
    lineage: str
    value: Scalar


@dataclass(frozen=True)
class FieldVerdict:
    """The outcome for one field: its status, the agreed value and who said what."""

    path: str
    status: str
    value: Scalar
    agreeing: tuple[FieldClaim, ...]
    outliers: tuple[FieldClaim, ...] = ()

    @property
    def claims(self) -> tuple[FieldClaim, ...]:
        return self.agreeing + self.outliers

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: status, value and ``{source: value}`` of every claim."""
        return {
            "status": self.status,
            "value": self.value,
            "lineages": sorted({c.lineage for c in self.agreeing}),
            "claims": {c.source: c.value for c in self.claims},
        }


def verify_fields(
    stated: Iterable[tuple[str, str, Mapping[str, Scalar]]], tolerance: Agrees
) -> dict[str, FieldVerdict]:
    """A verdict per field from ``(source, lineage, fields)``, one per lineage,
    most trusted first. A field one lineage states is unverified; stated alike
    by two or more, verified; otherwise the cluster backed by two lineages at
    least and by more than any other wins; else the field is in conflict.
    Silence is not disagreement: a source that does not state a field is not
    counted for it."""
    by_path: dict[str, list[FieldClaim]] = {}
    for source, lineage, fields in stated:
        for path, value in fields.items():
            by_path.setdefault(path, []).append(FieldClaim(source, lineage, value))
    return {path: _verdict(path, claims, tolerance) for path, claims in sorted(by_path.items())}


def _verdict(path: str, claims: list[FieldClaim], tolerance: Agrees) -> FieldVerdict:
    if len(claims) == 1:
        return FieldVerdict(path, UNVERIFIED, claims[0].value, (claims[0],))
    clusters: list[list[FieldClaim]] = []
    for claim in claims:
        home = next((c for c in clusters if same_value(c[0].value, claim.value, tolerance)), None)
        if home is None:
            clusters.append([claim])
        else:
            home.append(claim)
    clusters.sort(key=len, reverse=True)  # stable: ties keep the most trusted first
    best, rest = clusters[0], [c for cluster in clusters[1:] for c in cluster]
    if len(clusters) == 1:
        status = VERIFIED if len(best) >= 2 else UNVERIFIED
    elif len(best) >= 2 and len(best) > len(clusters[1]):
        status = VERIFIED
    else:
        status = CONFLICT
    value = None if status == CONFLICT else best[0].value
    return FieldVerdict(path, status, value, tuple(best), tuple(rest))


def field_statuses(verdicts: Mapping[str, FieldVerdict]) -> dict[str, str]:
    """``{path: status}``, the form kept on a stored price's ``extra``."""
    return {path: v.status for path, v in verdicts.items()}
