"""What a refresh keeps of a verdict: per-field statuses on the stored row
(``extra["field_verification"]``) and per-field evidence on change records;
and which of a verdict's rates are off their family's magnitude."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from budget.domain.prices import PriceRates
from budget.pricing.corrections import CORRECTED, Correction
from budget.pricing.family import FamilyBands
from budget.pricing.verify import VERIFIED, ModelVerdict

#: The key of a stored price's ``extra`` holding ``{field path: status}``.
FIELD_VERIFICATION = "field_verification"


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
