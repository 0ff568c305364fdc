"""Money as text, written one way per audience.

* :func:`decimal_text` is the wire form every API body, export and tool
  result uses: the exact amount as a plain decimal string (``"0.0094"``, never
  ``"9.4E-3"`` nor a float).
* :func:`usd_exact` is for people reading the terminal: ``$0.0094``, every
  significant digit kept.
* :func:`usd_rounded` is for people scanning a dashboard: ``$1,234.56``, with
  four decimals below a dollar and never a misleading ``$0.00``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_SMALLEST_SHOWN = Decimal("0.0001")


def decimal_text(value: Decimal | None) -> str | None:
    """``value`` as a plain decimal string; None stays None."""
    return None if value is None else format(value, "f")


def decimal_of(value: Any) -> Decimal | None:
    """A number from an API body's text (or a number); None for nothing or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def usd_exact(amount: Decimal) -> str:
    """``$`` and the exact amount without trailing zeros: ``$0.0094``, ``$12``."""
    return "$" + (format(amount.normalize(), "f") if amount else "0")


def usd_rounded(amount: Decimal) -> str:
    """``$1,234.56`` from a dollar up, four decimals below, ``<$0.0001`` for less."""
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    if amount != 0 and abs(amount) < _SMALLEST_SHOWN:
        return "<$0.0001" if amount > 0 else "-<$0.0001"
    return f"${amount:.4f}"
