"""Regenerate budget/pricing/data/default_prices.json from the installed genai-prices.

Usage: ``.venv/bin/python scripts/build_default_catalog.py [--output PATH]``

Every genai-prices provider is included except the ``huggingface_*`` ones and
``openrouter`` (it only re-sells other providers' models). Per model: id,
name, context window, match rules, and the token rates Budget bills
(``input_mtok``, ``output_mtok``, ``cache_read_mtok`` -> cached_input,
``cache_write_mtok`` -> cache_write, ``output_reasoning_mtok`` -> reasoning,
``requests_kcount`` / 1000 -> per_request). Other price keys (audio, images,
web searches...) are not billed by Budget; the header counts them.

Conditional prices keep genai-prices' meaning ("the last active entry
wins"): the unconstrained entry is the base; each start-date entry starts a
new row of the same model (effective from that day 00:00 UTC, ending the
previous row); each time-of-day entry becomes a time-of-day variant of every
row that precedes it in the list (all of them, in today's data), placed first
so that the later entry wins. So a peak-hour price applies on every date, as
in genai-prices (whose comments call this an upper bound for some DeepSeek
dates).

Two built-in rows end the file: providers ``ollama`` and ``local`` price every
model at 0 (local inference is free: a known price, not a silent $0).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genai_prices import types as gp  # noqa: E402
from genai_prices.data import providers as gp_providers  # noqa: E402

from budget.domain.prices import (  # noqa: E402
    Price,
    PriceRates,
    Rate,
    TierRate,
    TimeOfDayRates,
)
from budget.pricing.serialize import price_to_dict  # noqa: E402

DEFAULT_OUTPUT = ROOT / "budget" / "pricing" / "data" / "default_prices.json"
SOURCE = "genai-prices"
BUILTIN_SOURCE = "budget-builtin"
EXCLUDED_PROVIDERS = ("openrouter",)
EXCLUDED_PREFIXES = ("huggingface_",)
FREE_PROVIDERS = ("ollama", "local")

#: genai-prices price key -> PriceRates field (rates per million tokens).
RATE_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
    "output_reasoning_mtok": "reasoning",
}
PER_REQUEST_KEY = "requests_kcount"  # USD per thousand requests

CLAUSE_KINDS: list[tuple[type, str, str]] = [
    (gp.ClauseEquals, "equals", "equals"),
    (gp.ClauseStartsWith, "starts_with", "starts_with"),
    (gp.ClauseEndsWith, "ends_with", "ends_with"),
    (gp.ClauseContains, "contains", "contains"),
    (gp.ClauseRegex, "regex", "regex"),
    (gp.ClauseAnd, "and_", "and"),
    (gp.ClauseOr, "or_", "or"),
]


class Stats:
    """What the conversion left out, for the file's header."""

    def __init__(self) -> None:
        self.ignored_keys: Counter[str] = Counter()
        self.models = 0
        self.models_with_variants = 0
        self.models_without_prices: list[str] = []
        self.models_without_token_rates: list[str] = []


def convert_clause(clause: Any) -> dict[str, Any]:
    """One genai-prices Clause* object as a ``match`` dict."""
    for cls, attr, key in CLAUSE_KINDS:
        if isinstance(clause, cls):
            value = getattr(clause, attr)
            if key in ("and", "or"):
                return {key: [convert_clause(c) for c in value]}
            return {key: value}
    raise TypeError(f"unknown match clause {clause!r}")


def convert_rate(value: Decimal | gp.TieredPrices) -> Rate:
    """A flat price or TieredPrices(base, tiers) as a Rate."""
    if isinstance(value, gp.TieredPrices):
        tiers = tuple(TierRate(start=t.start, rate=t.price) for t in value.tiers)
        return Rate(base=value.base, tiers=tiers)
    return Rate(base=value)


def convert_prices(model_price: gp.ModelPrice, stats: Stats) -> PriceRates:
    """One ModelPrice as PriceRates; other keys are counted, not billed."""
    kwargs: dict[str, Any] = {}
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        if key in RATE_KEYS:
            kwargs[RATE_KEYS[key]] = convert_rate(value)
        elif key == PER_REQUEST_KEY and isinstance(value, Decimal):
            kwargs["per_request"] = value / 1000
        else:
            stats.ignored_keys[key] += 1
    return PriceRates(**kwargs)


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def utc_time(value: time) -> time:
    """A time of day in UTC, naive (TimeOfDayRates compares naive UTC times)."""
    if value.tzinfo is not None:
        value = datetime.combine(date(2000, 1, 1), value).astimezone(UTC).time()
    return value.replace(tzinfo=None)


def model_rows(model: gp.ModelInfo, stats: Stats) -> list[dict[str, Any]]:
    """The rows of one model: ``rates``, ``time_of_day``, ``effective_from/to``."""
    if isinstance(model.prices, gp.ModelPrice):
        return [_row(convert_prices(model.prices, stats))]
    rows: list[dict[str, Any]] = []
    for entry in model.prices:
        constraint = entry.constraint
        rates = convert_prices(entry.prices, stats)
        if constraint is None:
            if rows:
                raise ValueError(f"{model.id}: unconstrained price after the first entry")
            rows.append(_row(rates))
        elif isinstance(constraint, gp.StartDateConstraint):
            start = midnight_utc(constraint.start_date)
            if not rows:
                rows.append(_row(rates, effective_from=start))
                continue
            if rows[-1]["effective_from"] is not None and start <= rows[-1]["effective_from"]:
                raise ValueError(f"{model.id}: start dates out of order at {start}")
            rows[-1]["effective_to"] = start
            rows.append(_row(rates, effective_from=start))
        elif isinstance(constraint, gp.TimeOfDateConstraint):
            if not rows:
                raise ValueError(f"{model.id}: time-of-day price without a base price")
            variant = TimeOfDayRates(
                start=utc_time(constraint.start_time),
                end=utc_time(constraint.end_time),
                rates=rates,
            )
            for row in rows:  # genai-prices: a later entry beats every earlier one
                row["time_of_day"].insert(0, variant)
        else:
            raise TypeError(f"{model.id}: unknown constraint {constraint!r}")
    return rows


def _row(rates: PriceRates, effective_from: datetime | None = None) -> dict[str, Any]:
    return {
        "rates": rates,
        "time_of_day": [],
        "effective_from": effective_from,
        "effective_to": None,
    }


def provider_prices(provider: gp.Provider, version: str, stats: Stats) -> list[Price]:
    """Every price row of one provider, in genai-prices' model order."""
    out: list[Price] = []
    for model in provider.models:
        stats.models += 1
        if model.price_variants:
            stats.models_with_variants += 1
        rows = model_rows(model, stats)
        _note_unbillable(provider, model, rows, stats)
        extra = {"deprecated": True} if model.deprecated else {}
        for row in rows:
            out.append(
                Price(
                    provider=provider.id,
                    model=model.id,
                    name=model.name,
                    rates=row["rates"],
                    time_of_day=tuple(row["time_of_day"]),
                    effective_from=row["effective_from"],
                    effective_to=row["effective_to"],
                    match=(convert_clause(model.match),),
                    context_window=model.context_window,
                    source=SOURCE,
                    source_version=version,
                    extra=dict(extra),
                )
            )
    return out


def _note_unbillable(
    provider: gp.Provider, model: gp.ModelInfo, rows: list[dict[str, Any]], stats: Stats
) -> None:
    """Record models Budget cannot bill per token (they stay unpriced, not $0)."""
    if any(r["rates"].input is not None or r["rates"].output is not None for r in rows):
        return
    if isinstance(model.prices, gp.ModelPrice):
        entries = [model.prices]
    else:
        entries = [entry.prices for entry in model.prices]
    empty = all(not any(v is not None for v in e.__dict__.values()) for e in entries)
    bucket = stats.models_without_prices if empty else stats.models_without_token_rates
    bucket.append(f"{provider.id}/{model.id}")


def builtin_prices() -> list[Price]:
    """Free local providers: every model costs 0 (a known price)."""
    zero = Rate(base=Decimal(0))
    return [
        Price(
            provider=provider,
            model="*",
            name=f"any {provider} model",
            rates=PriceRates(input=zero, output=zero),
            match=({"any": True},),
            source=BUILTIN_SOURCE,
        )
        for provider in FREE_PROVIDERS
    ]


def included(provider: gp.Provider) -> bool:
    return provider.id not in EXCLUDED_PROVIDERS and not provider.id.startswith(EXCLUDED_PREFIXES)


def build() -> tuple[dict[str, Any], list[Price]]:
    """The header and every price row of the default catalog."""
    version = importlib.metadata.version("genai-prices")
    stats = Stats()
    chosen = [p for p in gp_providers if included(p)]
    prices = [price for p in chosen for price in provider_prices(p, version, stats)]
    prices += builtin_prices()
    header = {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": SOURCE,
        "source_version": version,
        "providers": sorted({p.provider for p in prices}),
        "excluded_providers": sorted(p.id for p in gp_providers if not included(p)),
        "fallback_model_providers": {
            p.id: p.fallback_model_providers for p in chosen if p.fallback_model_providers
        },
        "models": stats.models,
        "ignored_price_keys": dict(sorted(stats.ignored_keys.items())),
        "ignored_price_variants": stats.models_with_variants,
        "models_without_prices": stats.models_without_prices,
        "models_without_token_rates": stats.models_without_token_rates,
    }
    return header, prices


def render(header: dict[str, Any], prices: list[Price]) -> str:
    """The JSON text: the header on one line, then one price per line."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    head = json.dumps(header, **compact)[:-1]  # drop the closing brace
    rows = ",\n".join(json.dumps(price_to_dict(p, compact=True), **compact) for p in prices)
    return f'{head},"prices":[\n{rows}\n]}}\n'


def main(argv: list[str] | None = None) -> int:
    """Write the catalog and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    header, prices = build()
    text = render(header, prices)
    json.loads(text)  # it must stay valid JSON
    args.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.output} ({len(text.encode()):,} bytes): {len(prices)} prices, "
        f"{len(header['providers'])} providers, genai-prices {header['source_version']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
