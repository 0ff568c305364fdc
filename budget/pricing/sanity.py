"""The token kinds a price's rates are checked on, and the sanity rules that
say a rate cannot be right: a rate above the ceiling, a cache-read rate above
the input rate, a cache-write rate below it.

The rules hold for a source's row (:mod:`budget.ingest.collect` drops what
they flag) and for a person's override (:mod:`budget.pricing.overrides`
refuses it).
"""

from __future__ import annotations

from decimal import Decimal

from budget.domain.prices import PriceRates

#: The token kinds of a price's rates that sources give and verification votes on.
KINDS = ("input", "output", "cached_input", "cache_write", "reasoning")
#: The kinds a price must have for its rates to be of any use.
REQUIRED = ("input", "output")


def sanity_problems(rates: PriceRates, ceiling: Decimal) -> dict[str, str]:
    """Why a row's rates cannot be right, per token kind (empty when sane).

    A rate above ``ceiling``; a cache-read rate above the input rate; a
    cache-write rate below it. The caller drops a row whose input or output
    rate is flagged, and only the flagged rate otherwise.
    """
    problems: dict[str, str] = {}
    for kind in KINDS:
        rate = getattr(rates, kind)
        if rate is None:
            continue
        top = max((rate.base, *(t.rate for t in rate.tiers)))
        if top > ceiling:
            problems[kind] = f"{kind} rate above the ceiling {ceiling}"
    if rates.input is not None:
        base = rates.input.base
        read_high = rates.cached_input is not None and rates.cached_input.base > base
        write_low = rates.cache_write is not None and rates.cache_write.base < base
        if read_high and write_low:
            swapped = "cache read/write mix-up (read above the input rate, write below it)"
            problems.setdefault("cached_input", swapped)
            problems.setdefault("cache_write", swapped)
        elif read_high:
            problems.setdefault("cached_input", "cache-read rate above the input rate")
        elif write_low:
            problems.setdefault("cache_write", "cache-write rate below the input rate")
    return problems
