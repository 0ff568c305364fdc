"""The rates of a manual price (an override), checked before they are stored:
the base kinds, 1-hour cache writes and service tiers, each against the
sanity rules (:mod:`budget.pricing.sanity`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from budget.domain.enums import ServiceTier
from budget.domain.money import parse_usd
from budget.domain.prices import STANDARD_TIER, PriceRates, Rate, ServiceTierRates
from budget.errors import ValidationError
from budget.pricing.sanity import KINDS, sanity_problems


def price_model_override(
    given: dict[str, Any], ceiling: Decimal
) -> tuple[PriceRates, tuple[ServiceTierRates, ...]]:
    """The standard rates and the service tiers of an override.

    ``cache_write_1h`` is a rate like the others; ``service_tiers`` maps
    ``batch`` / ``flex`` / ``priority`` to rates given the same way (an input
    rate at least). Errors name the field and the value.
    """
    given = dict(given)
    tiers_given = given.pop("service_tiers", None) or {}
    rates = _with_hour_rate(given, ceiling, "")
    if not isinstance(tiers_given, Mapping):
        raise ValidationError("service_tiers", tiers_given, "must map a tier to its rates")
    tiers = []
    for name, tier_rates in tiers_given.items():
        field = f"service_tiers.{name}"
        if name not in {t.value for t in ServiceTier} or name == STANDARD_TIER:
            raise ValidationError("service_tiers", name, "must be batch, flex or priority")
        if not isinstance(tier_rates, Mapping):
            raise ValidationError(field, tier_rates, "must map a token kind to its rate")
        tiers.append(ServiceTierRates(name, _with_hour_rate(dict(tier_rates), ceiling, field)))
    return rates, tuple(tiers)


def _with_hour_rate(given: dict[str, Any], ceiling: Decimal, prefix: str) -> PriceRates:
    hour = given.pop("cache_write_1h", None)
    try:
        rates = override_rates(given, ceiling)
    except ValidationError as error:
        if not prefix:
            raise
        raise ValidationError(f"{prefix}.{error.field}", error.value, error.reason) from None
    name = f"{prefix}.cache_write_1h" if prefix else "cache_write_1h"
    amount = parse_usd(name, hour)
    if amount is None:
        return rates
    if amount > ceiling:
        raise ValidationError(name, amount, f"above the ceiling of {ceiling} USD per million")
    if rates.input is not None and amount < rates.input.base:
        raise ValidationError(name, amount, "cache-write rate below the input rate")
    return dataclasses.replace(rates, cache_write_1h=Rate(base=amount))


def override_rates(given: dict[str, Any], ceiling: Decimal) -> PriceRates:
    """Rates a person gives for an override (USD per million; ``per_request`` in
    USD), checked: Decimal, int or decimal strings only, an input rate at least,
    and the sanity rules. Raises ValidationError naming the field and value."""
    unknown = set(given) - set(KINDS) - {"per_request"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(name, given[name], f"unknown rate; one of {', '.join(KINDS)}")
    amounts = {k: parse_usd(k, given.get(k)) for k in (*KINDS, "per_request")}
    if amounts["input"] is None:
        raise ValidationError("input", None, "an override needs at least an input rate")
    rates = PriceRates(
        **{k: Rate(base=v) for k in KINDS if (v := amounts[k]) is not None},
        per_request=amounts["per_request"],
    )
    for kind, problem in sanity_problems(rates, ceiling).items():
        raise ValidationError(kind, amounts[kind], problem)
    return rates
