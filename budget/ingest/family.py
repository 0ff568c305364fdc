"""A floor and a ceiling per token kind, relative to a model's family.

A model's *family* is the other models of the same provider whose ids share
its name stem: the first three parts of the id (``gpt-4o-mini`` for
``gpt-4o-mini-2024-07-18``), else the first two (``gpt-4o``), else the first
(``gpt``), the narrowest that has at least :data:`MIN_MEMBERS` other models.
A rate more than :data:`FACTOR` times the family's median for that kind, or
less than the median divided by it, is off the family's magnitude: the mark
of a unit error (per token, per thousand) rather than of a real price. Real
families span less: in the shipped catalog a ``nano`` model costs about 1/60
of a two-part stem's median, a ``pro`` model a few times it; a 1000x error of
a model near its family's median lands far outside. A rate of 0 is a free
tier, never off.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from decimal import Decimal

from budget.domain.prices import Price, PriceRates
from budget.pricing.normalize import model_key

KINDS = ("input", "output", "cached_input", "cache_write", "reasoning")
FACTOR = Decimal(100)
MIN_MEMBERS = 2
MAGNITUDE = "magnitude"
_PARTS = re.compile(r"[-_.:/@]+")


def stems(model: str) -> tuple[str, ...]:
    """The model's name stems, narrowest first: three parts, two, then one."""
    parts = [p for p in _PARTS.split(model_key(model)) if p]
    return tuple("-".join(parts[:n]) for n in (3, 2, 1) if n <= len(parts))


class FamilyBands:
    """Each family's known base rates per token kind, from the catalog's prices."""

    def __init__(self, prices: Iterable[Price]) -> None:
        self._rates: dict[tuple[str, str, str], dict[str, Decimal]] = {}
        for price in prices:
            if price.is_override:
                continue
            key = model_key(price.model)
            for stem in stems(price.model):
                for kind in KINDS:
                    rate = getattr(price.rates, kind)
                    if rate is not None and rate.base > 0:
                        self._rates.setdefault((price.provider, stem, kind), {})[key] = rate.base

    def problems(self, provider: str, model: str, rates: PriceRates) -> dict[str, str]:
        """Why each of these rates is off the family's magnitude (empty when none is)."""
        found: dict[str, str] = {}
        for kind in KINDS:
            rate = getattr(rates, kind)
            if rate is None or rate.base <= 0:
                continue
            band = self._band(provider, model, kind)
            if band is None:
                continue
            stem, median = band
            ratio = rate.base / median
            if ratio > FACTOR or ratio < 1 / FACTOR:
                times = f"{ratio:.0f}x" if ratio > 1 else f"1/{1 / ratio:.0f} of"
                found[kind] = (
                    f"{MAGNITUDE}: {kind} {rate.base} is {times} the median "
                    f"{median} of the {provider}/{stem}* family"
                )
        return found

    def _band(self, provider: str, model: str, kind: str) -> tuple[str, Decimal] | None:
        own = model_key(model)
        for stem in stems(model):
            members = self._rates.get((provider, stem, kind), {})
            others = [rate for key, rate in members.items() if key != own]
            if len(others) >= MIN_MEMBERS:
                return stem, Decimal(statistics.median(others))
        return None
