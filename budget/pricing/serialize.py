"""Prices to and from JSON-safe dicts, exactly.

Decimals travel as strings (``"2.50"`` stays ``Decimal("2.50")``), datetimes
as ISO-8601 with their timezone (a naive datetime is read as UTC), times of day
as ``"HH:MM:SS"``, days of the week as ``"mon"``..``"sun"``, and a tiered
rate as ``{"base": "3", "tiers": [[200000, "6"]]}`` (a rate without tiers is
just its decimal string). ``price_from_dict`` of ``price_to_dict`` gives back
an equal :class:`~budget.domain.prices.Price`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from budget.domain.enums import ServiceTier
from budget.domain.prices import (
    STANDARD_TIER,
    WEEKDAYS,
    Price,
    PriceRates,
    Rate,
    ServiceTierRates,
    TierRate,
    TimeOfDayRates,
    zone,
)

#: The rate fields of PriceRates, in the order they are written.
RATE_FIELDS = ("input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning")
#: Keys of the rates dict that are not rates of the standard tier.
_NESTED = {"per_request", "time_of_day", "service_tiers"}


def decimal_to_str(value: Decimal) -> str:
    """A finite Decimal as its exact string."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    return str(value)


def decimal_from(field: str, value: Any) -> Decimal:
    """A Decimal from a string or int (never a float, which is not exact)."""
    if isinstance(value, float):
        raise ValueError(f"{field}={value!r}: give decimals as strings, not floats")
    if isinstance(value, bool):
        raise ValueError(f"{field}={value!r}: not a decimal number")
    try:
        result = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{field}={value!r}: not a decimal number") from None
    if not result.is_finite() or result < 0:
        raise ValueError(f"{field}={value!r}: must be a finite, non-negative amount")
    return result


def rate_to_json(rate: Rate) -> str | dict[str, Any]:
    """One rate: its decimal string, or ``{"base", "tiers": [[start, rate], ...]}``."""
    if not rate.tiers:
        return decimal_to_str(rate.base)
    return {
        "base": decimal_to_str(rate.base),
        "tiers": [[tier.start, decimal_to_str(tier.rate)] for tier in rate.tiers],
    }


def rate_from_json(field: str, value: Any) -> Rate:
    """The inverse of :func:`rate_to_json`."""
    if isinstance(value, Mapping):
        tiers = tuple(
            TierRate(start=_int(f"{field}.tiers.start", start), rate=decimal_from(field, rate))
            for start, rate in value.get("tiers", ())
        )
        return Rate(base=decimal_from(f"{field}.base", value["base"]), tiers=tiers)
    return Rate(base=decimal_from(field, value))


def price_rates_to_dict(rates: PriceRates) -> dict[str, Any]:
    """One PriceRates; rates that are None are left out."""
    out: dict[str, Any] = {}
    for name in RATE_FIELDS:
        rate = getattr(rates, name)
        if rate is not None:
            out[name] = rate_to_json(rate)
    if rates.per_request is not None:
        out["per_request"] = decimal_to_str(rates.per_request)
    return out


def price_rates_from_dict(d: Mapping[str, Any]) -> PriceRates:
    """The inverse of :func:`price_rates_to_dict` (unknown keys are refused)."""
    unknown = set(d) - set(RATE_FIELDS) - _NESTED
    if unknown:
        raise ValueError(f"rates: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {
        name: rate_from_json(name, d[name]) for name in RATE_FIELDS if d.get(name) is not None
    }
    if d.get("per_request") is not None:
        kwargs["per_request"] = decimal_from("per_request", d["per_request"])
    return PriceRates(**kwargs)


def rates_to_dict(
    rates: PriceRates,
    time_of_day: Sequence[TimeOfDayRates] = (),
    service_tiers: Sequence[ServiceTierRates] = (),
) -> dict[str, Any]:
    """Rates, their tiers, time-of-day rules and service tiers as one JSON-safe dict.

    Rules go under ``"time_of_day"`` as ``{"start", "end", "rates"}`` plus,
    when not the defaults, ``"days"`` (``["mon", ...]``), ``"timezone"`` and
    ``"effective_from"``/``"effective_to"``; service tiers under
    ``"service_tiers"`` as ``{"batch": rates, ...}``. Keys are absent when
    empty. Storage keeps this in one JSON column.
    """
    out = price_rates_to_dict(rates)
    if time_of_day:
        out["time_of_day"] = [time_of_day_to_dict(v) for v in time_of_day]
    if service_tiers:
        out["service_tiers"] = {t.tier: price_rates_to_dict(t.rates) for t in service_tiers}
    return out


def time_of_day_to_dict(rule: TimeOfDayRates) -> dict[str, Any]:
    """One time-of-day rule; fields at their default (every day, UTC, always) left out."""
    out: dict[str, Any] = {
        "start": _time_to_str(rule.start),
        "end": _time_to_str(rule.end),
        "rates": price_rates_to_dict(rule.rates),
    }
    if rule.days:
        out["days"] = [WEEKDAYS[day] for day in sorted(rule.days)]
    if rule.timezone != "UTC":
        out["timezone"] = rule.timezone
    if rule.effective_from is not None:
        out["effective_from"] = _datetime_to_str(rule.effective_from)
    if rule.effective_to is not None:
        out["effective_to"] = _datetime_to_str(rule.effective_to)
    return out


def time_of_day_from_dict(d: Mapping[str, Any]) -> TimeOfDayRates:
    """The inverse of :func:`time_of_day_to_dict` (a rule stored before days
    and timezones existed reads as every day, UTC, always)."""
    timezone = str(d.get("timezone") or "UTC")
    zone(timezone)  # refuses a name that is not an IANA timezone
    return TimeOfDayRates(
        start=time.fromisoformat(d["start"]),
        end=time.fromisoformat(d["end"]),
        rates=price_rates_from_dict(d["rates"]),
        days=frozenset(_weekday(day) for day in d.get("days") or ()),
        timezone=timezone,
        effective_from=_datetime_from(d.get("effective_from")),
        effective_to=_datetime_from(d.get("effective_to")),
    )


def rates_from_dict(
    d: Mapping[str, Any],
) -> tuple[PriceRates, tuple[TimeOfDayRates, ...], tuple[ServiceTierRates, ...]]:
    """The inverse of :func:`rates_to_dict`: ``(rates, time-of-day rules, service tiers)``."""
    variants = tuple(time_of_day_from_dict(v) for v in d.get("time_of_day") or ())
    tiers = tuple(
        ServiceTierRates(tier=_tier_name(name), rates=price_rates_from_dict(value))
        for name, value in (d.get("service_tiers") or {}).items()
    )
    return price_rates_from_dict(d), variants, tiers


def price_to_dict(price: Price, *, compact: bool = False) -> dict[str, Any]:
    """A Price as a JSON-safe dict.

    With ``compact=True`` fields holding their default value are left out
    (used for the shipped catalog); :func:`price_from_dict` reads both forms.
    """
    out: dict[str, Any] = {
        "provider": price.provider,
        "model": price.model,
        "name": price.name,
        "rates": rates_to_dict(price.rates, price.time_of_day, price.service_tiers),
        "effective_from": _datetime_to_str(price.effective_from),
        "effective_to": _datetime_to_str(price.effective_to),
        "match": [dict(clause) for clause in price.match],
        "context_window": price.context_window,
        "source": price.source,
        "source_version": price.source_version,
        "verification": price.verification,
        "is_override": price.is_override,
        "price_id": price.price_id,
        "extra": dict(price.extra),
    }
    if compact:
        defaults = _DEFAULTS
        out = {k: v for k, v in out.items() if k not in defaults or v != defaults[k]}
    return out


def price_from_dict(d: Mapping[str, Any]) -> Price:
    """The inverse of :func:`price_to_dict`; missing optional fields take defaults."""
    for key in ("provider", "model", "source", "rates"):
        if key not in d:
            raise ValueError(f"price: missing field {key!r}")
    rates, time_of_day, service_tiers = rates_from_dict(d["rates"])
    context_window = d.get("context_window")
    price_id = d.get("price_id")
    return Price(
        provider=str(d["provider"]),
        model=str(d["model"]),
        rates=rates,
        source=str(d["source"]),
        time_of_day=time_of_day,
        service_tiers=service_tiers,
        effective_from=_datetime_from(d.get("effective_from")),
        effective_to=_datetime_from(d.get("effective_to")),
        match=tuple(dict(clause) for clause in d.get("match") or ()),
        context_window=None if context_window is None else _int("context_window", context_window),
        source_version=d.get("source_version"),
        verification=d.get("verification", "unverified"),
        is_override=bool(d.get("is_override", False)),
        price_id=None if price_id is None else _int("price_id", price_id),
        name=d.get("name"),
        extra=dict(d.get("extra") or {}),
    )


_DEFAULTS: dict[str, Any] = {
    "name": None,
    "effective_from": None,
    "effective_to": None,
    "match": [],
    "context_window": None,
    "source_version": None,
    "verification": "unverified",
    "is_override": False,
    "price_id": None,
    "extra": {},
}


def _weekday(value: Any) -> int:
    name = str(value).strip().lower()[:3]
    if name not in WEEKDAYS:
        raise ValueError(f"days={value!r}: not a day of the week (mon..sun)")
    return WEEKDAYS.index(name)


def _tier_name(value: Any) -> str:
    try:
        tier = ServiceTier(value)
    except ValueError:
        raise ValueError(f"service_tiers={value!r}: not a service tier") from None
    if tier == STANDARD_TIER:
        raise ValueError("service_tiers: 'standard' is the price's own rates, not a tier apart")
    return str(tier)


def _time_to_str(value: time) -> str:
    # "HH:MM:SS"; microseconds or a timezone are kept if present, so it stays exact.
    return value.isoformat()


def _datetime_to_str(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _datetime_from(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{value!r}: not an ISO-8601 datetime") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field}={value!r}: must be an integer")
    return value
