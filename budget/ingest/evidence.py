"""What a refresh keeps of a verdict: per-field statuses on the stored row
(``extra["field_verification"]``) and per-field evidence on change records;
and which of a verdict's rates are off their family's magnitude."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from budget.domain.prices import Price, PriceRates, ServiceTierRates
from budget.ingest.collect import Group
from budget.ingest.family import FamilyBands
from budget.ingest.verify import VERIFIED, Evidence, ModelVerdict
from budget.pricing.corrections import CORRECTED, Correction
from budget.pricing.refresh import SourceSpec

#: Sources whose rows are never a witness (people and built-in rules).
NOT_WITNESSES = frozenset({"manual", "budget-builtin", "correction"})
DEFAULT_TRUST = Decimal("0.5")


def evidence_for(
    group: Group,
    stored: Price | None,
    specs: Mapping[str, SourceSpec],
    reported_lineages: Iterable[str],
) -> list[Evidence]:
    """Each source's claim on a model, plus the stored row as a *witness* for
    its lineage when that lineage did not report in this run."""
    evidence = [
        Evidence(
            spec.name,
            spec.lineage,
            spec.trust,
            record.rates,
            time_of_day=record.time_of_day,
            effective_from=record.effective_from,
            effective_to=record.effective_to,
            service_tiers=record.service_tiers,
        )
        for spec, record in group.claims.values()
    ]
    if stored is not None and stored.source not in NOT_WITNESSES:
        spec = specs.get(stored.source)
        lineage = spec.lineage if spec else stored.source
        if lineage not in reported_lineages:
            trust = spec.trust if spec else DEFAULT_TRUST
            # A stored row's dates are when it was written, not a source's claim.
            witness = Evidence(
                stored.source,
                lineage,
                trust,
                stored.rates,
                True,
                stored.time_of_day,
                service_tiers=_own_tiers(stored),
            )
            evidence.append(witness)
    return evidence


def _own_tiers(stored: Price) -> tuple[ServiceTierRates, ...]:
    """The stored row's service tiers when its own source stated them; tiers
    taken from another lineage (``service_tiers_source``) are no witness."""
    return () if stored.extra.get("service_tiers_source") else stored.service_tiers


def field_checks(verdict: ModelVerdict, correction: Correction | None = None) -> dict[str, str]:
    """``{field path: status}`` of every field stated; a field a correction
    sets (and every field under it) is ``corrected``."""
    checks = verdict.field_statuses()
    if correction is None:
        return checks
    for top in correction.set:
        for path in checks:
            if path == top or path.startswith((f"{top}.", f"{top}[")):
                checks[path] = CORRECTED
        checks.setdefault(top, CORRECTED)
    return checks


def evidence_of(verdict: ModelVerdict, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per field: its status and agreed value, the lineages agreeing, every
    source's value and each source's lineage."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        fv = verdict.fields.get(path)
        if fv is None:
            continue
        out[path] = {
            "status": fv.status,
            "value": as_text(fv.value),
            "lineages": sorted({c.lineage for c in fv.agreeing}),
            "claims": {c.source: as_text(c.value) for c in fv.claims},
            "claim_lineages": {c.source: c.lineage for c in fv.claims},
        }
    return out


def as_text(value: object) -> str | None:
    """A field's value as text (None stays None)."""
    return None if value is None else str(value)


def off_family(
    families: FamilyBands,
    provider: str,
    model: str,
    verdict: ModelVerdict,
    stored: PriceRates | None,
) -> dict[str, str]:
    """The rates only one lineage gives (new, or changing the stored rate)
    that are off the family's magnitude, with why; two agreeing lineages
    are believed."""
    found = {}
    for kind, problem in families.problems(provider, model, verdict.rates).items():
        kv = verdict.kinds.get(kind)
        if kv is None or kv.status == VERIFIED:
            continue
        old = None if stored is None else getattr(stored, kind)
        if old is None or kv.rate is None or old.base != kv.rate.base:
            found[kind] = problem
    return found
