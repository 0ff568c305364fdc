"""Rates against rates: merging what sources agreed into a stored price,
the status a kept row ends with, and a rate's change as text."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from budget.domain.prices import PriceRates, Rate, TierRate
from budget.ingest.verify import UNVERIFIED, VERIFIED, Tolerance
from budget.pricing.refresh_report import describe_rate
from budget.pricing.sanity import KINDS


def merge_rates(stored: PriceRates, agreed: PriceRates, tol: Tolerance) -> PriceRates:
    """The stored rates with each kind the sources agreed on put in, unless
    it is the same rate within the tolerance (then the stored one stays)."""
    kinds: dict[str, Rate | None] = {}
    for kind in KINDS:
        old, new = getattr(stored, kind), getattr(agreed, kind)
        kinds[kind] = old if new is None or same_rate(old, new, tol) else new
    per_request = agreed.per_request
    if per_request is None or (
        stored.per_request is not None and tol.agree(stored.per_request, per_request)
    ):
        per_request = stored.per_request
    # replace, not a new PriceRates: kinds not verified here (1-hour cache writes) stay
    return dataclasses.replace(stored, **kinds, per_request=per_request)


def same_rate(old: Rate | None, new: Rate, tol: Tolerance) -> bool:
    """True when ``new`` says nothing ``old`` does not (tiers compared when ``new`` has them)."""
    if old is None or not tol.agree(old.base, new.base):
        return False
    if not new.tiers:
        return True
    if len(old.tiers) != len(new.tiers):
        return False
    pairs = zip(sorted(old.tiers, key=_start), sorted(new.tiers, key=_start), strict=True)
    return all(a.start == b.start and tol.agree(a.rate, b.rate) for a, b in pairs)


def status_after(stored: str, found: str) -> str:
    """A stored row's status after a run found ``found`` and the rates unchanged:
    verified wins; a conflict ends; otherwise the stored status stays."""
    if found == VERIFIED:
        return VERIFIED
    if stored == "conflict":
        return found
    return stored if stored in (VERIFIED, UNVERIFIED) else found


def diff(old: Rate | None, new: Rate | None) -> dict[str, str | None]:
    """``{"old", "new", "change_pct"}`` of one kind; tiers shown as ``; >start: rate``."""
    pct = None
    if old is not None and new is not None and old.base != 0:
        pct = str(((new.base - old.base) / old.base * 100).quantize(Decimal("0.01")))
    return {"old": describe_rate(old), "new": describe_rate(new), "change_pct": pct}


def _start(tier: TierRate) -> int:
    return tier.start
