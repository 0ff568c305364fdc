"""The whole of one price as tables: what ``budget prices show`` prints.

It reads the API's price body (``PriceOut``) and nothing else, section by
section (identity and trust, rates per token kind with their tiers, time-of-day
rules, service tiers, verification per field, the model's facts), so a section
for another part of the body is one more function here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table

from budget.cli import render as r

#: Token kinds in the order they are shown, with their labels.
KIND_LABELS = (
    ("input", "input"),
    ("cached_input", "cache read"),
    ("cache_write", "cache write (5 min)"),
    ("cache_write_1h", "cache write (1 hour)"),
    ("output", "output"),
    ("reasoning", "reasoning"),
)
#: How a token kind without a rate is billed (see docs/prices.md, The price model).
FALLBACK = {
    "cached_input": "input rate",
    "cache_write": "input rate",
    "reasoning": "output rate",
}


def price_view(price: dict[str, Any]) -> Group:
    """Every section of one price, in order."""
    sections: list[Callable[[dict[str, Any]], Table | None]] = [
        _identity,
        _rates,
        _time_of_day,
        _service_tiers,
        _field_verification,
        _facts,
    ]
    return Group(*(table for show in sections if (table := show(price)) is not None))


def _identity(p: dict[str, Any]) -> Table:
    version = f" {p['source_version']}" if p.get("source_version") else ""
    item = {
        "name": p.get("name"),
        "source": f"{p['source']}{version}",
        "verification": p["verification"] + (" (manual override)" if p["is_override"] else ""),
        "effective_from": r.when(p["effective_from"]) if p["effective_from"] else "always",
        "effective_to": r.when(p["effective_to"]) if p["effective_to"] else "until changed",
        "per_request": r.usd(p["per_request"]) + " per request" if p.get("per_request") else "",
        "context_window": p.get("context_window"),
        "price_id": p.get("price_id"),
    }
    return r.details(item, title=f"{p['provider']}/{p['model']}")


def _rates(p: dict[str, Any]) -> Table:
    return r.table(
        rate_rows(p["rates"], hour_fallback=True),
        [("kind", lambda x: x["kind"]), ("USD / M tokens", lambda x: x["rate"])],
        title="rates (standard tier)",
    )


def rate_rows(rates: dict[str, Any], *, hour_fallback: bool = False) -> list[dict[str, str]]:
    """One row per token kind: the base rate, then each tier by input size."""
    rows = []
    for kind, label in KIND_LABELS:
        rate = rates.get(kind)
        if rate is None:
            rows.append({"kind": label, "rate": _missing(kind, rates)})
            continue
        text = rate["base"]
        for start, tier_rate in rate.get("tiers") or ():
            text += f"; {tier_rate} above {int(start):,} input tokens"
        rows.append({"kind": label, "rate": text})
    return rows


def _missing(kind: str, rates: dict[str, Any]) -> str:
    if kind == "cache_write_1h":
        return "input rate" if "cache_write" not in rates else "none: 1-hour writes are unpriced"
    if kind == "output":
        return "none"
    return FALLBACK.get(kind, "none")


def _time_of_day(p: dict[str, Any]) -> Table | None:
    rules = p.get("time_of_day") or []
    if not rules:
        return None
    return r.table(
        rules,
        [
            ("days", lambda x: ", ".join(x.get("days") or ()) or "every day"),
            ("from", lambda x: x["start"][:5]),
            ("to", lambda x: x["end"][:5]),
            ("timezone", lambda x: x.get("timezone") or "UTC"),
            ("in effect", lambda x: _span(x.get("effective_from"), x.get("effective_to"))),
            ("rates (USD / M)", lambda x: _short(x["rates"])),
        ],
        title="time-of-day rules (the first that covers a call wins)",
    )


def _service_tiers(p: dict[str, Any]) -> Table:
    tiers = [{"tier": "standard", "rates": "the rates above"}] + [
        {"tier": name, "rates": _short(rates)}
        for name, rates in (p.get("service_tiers") or {}).items()
    ]
    return r.table(
        tiers,
        [("tier", lambda x: x["tier"]), ("rates (USD / M)", lambda x: x["rates"])],
        title="service tiers (any other tier: unpriced)",
    )


def _span(start: str | None, end: str | None) -> str:
    if not start and not end:
        return "always"
    return f"{r.when(start) if start else '…'} to {r.when(end) if end else 'until changed'}"


def _short(rates: dict[str, Any]) -> str:
    parts = []
    for kind, label in KIND_LABELS:
        rate = rates.get(kind)
        if rate is not None:
            base = rate["base"] if isinstance(rate, dict) else rate
            tiers = " +tiers" if isinstance(rate, dict) and rate.get("tiers") else ""
            parts.append(f"{label} {base}{tiers}")
    if rates.get("per_request"):
        parts.append(f"per request ${rates['per_request']}")
    return ", ".join(parts)


def _field_verification(p: dict[str, Any]) -> Table | None:
    checks = p.get("field_verification") or {}
    if not checks:
        return None
    return r.table(
        [{"field": path, "status": status} for path, status in sorted(checks.items())],
        [("field", lambda x: x["field"]), ("verification", lambda x: x["status"])],
        title="verification per field (the last refresh)",
    )


#: The facts shown under a price, in order (``budget prices facts`` shows them all).
FACT_KEYS = (
    "mode",
    "context_window",
    "max_output_tokens",
    "input_modalities",
    "output_modalities",
    "capabilities",
    "lifecycle",
    "retires_on",
    "successor",
)


def _facts(p: dict[str, Any]) -> Table | None:
    facts = p.get("facts")
    if not facts:
        return None
    item = {
        key: ", ".join(value) if isinstance(value, list) else value
        for key in FACT_KEYS
        if (value := facts.get(key)) not in (None, [], {})
    }
    return r.details(item, title="model facts")
