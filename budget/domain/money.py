"""Exact money: USD as Decimal in Python, integer nano-USD in storage."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from budget.domain.limits import MAX_USD_LIMIT
from budget.errors import ValidationError

NANOS_PER_USD = 1_000_000_000
_NANO = Decimal(1) / NANOS_PER_USD


def usd_to_nanos(amount: Decimal) -> int:
    """Round an exact USD amount to whole nano-USD (banker's rounding)."""
    return int((amount * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def nanos_to_usd(nanos: int) -> Decimal:
    """Nano-USD back to a Decimal USD amount, exact."""
    return (Decimal(nanos) / NANOS_PER_USD).normalize() if nanos else Decimal(0)


def parse_usd(
    field: str, value: object, *, allow_none: bool = True, maximum: Decimal = MAX_USD_LIMIT
) -> Decimal | None:
    """Read a USD amount from user input: Decimal, int or str; never float.

    Floats are refused because 0.1 + 0.2 is not 0.3; the message says so.
    """
    if value is None:
        if allow_none:
            return None
        raise ValidationError(field, value, "a USD amount is required")
    if isinstance(value, bool | float):
        raise ValidationError(
            field, value, "give USD amounts as Decimal, int or a decimal string, not float"
        )
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(field, value, "not a decimal number") from None
    if not amount.is_finite():
        raise ValidationError(field, value, "must be a finite amount")
    if amount < 0:
        raise ValidationError(field, value, "must not be negative")
    if amount > maximum:
        raise ValidationError(field, value, f"must be at most {maximum:,} USD")
    if amount != amount.quantize(_NANO) and amount.as_tuple().exponent < -9:  # type: ignore[operator]
        raise ValidationError(field, value, "more precise than one nano-USD (9 decimal places)")
    return amount
