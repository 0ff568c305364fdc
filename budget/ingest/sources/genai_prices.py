"""genai-prices (PyPI, MIT), read from the installed package: offline.

genai-prices keeps USD per million tokens as Decimals, so nothing is converted
but names: ``input_mtok`` -> input, ``output_mtok`` -> output,
``cache_read_mtok`` -> cached_input, ``cache_write_mtok`` -> cache_write
(5-minute writes), ``cache_write_1h_mtok`` -> cache_write_1h,
``output_reasoning_mtok`` -> reasoning, ``requests_kcount`` / 1000 ->
per_request. Other price keys (audio, images, web searches...) are not billed
by Budget and are only counted.

Conditional prices keep genai-prices' meaning ("the last active entry
wins"): the unconstrained entry is the base; each start-date entry starts a
new row of the same model (effective from that day 00:00 UTC, ending the
previous row); each time-of-day entry becomes a time-of-day rule of the row
in effect where it is listed (the latest start date before it, from which the
rule is effective), placed first so that the later entry wins. A rule never
reaches back to rows before it: a price that started later cannot have
existed earlier. genai-prices gives time-of-day spans in UTC, every day.

The same conversion builds the catalog shipped with Budget
(``scripts/build_default_catalog.py``). The package is imported only when the
source runs; without it the source reports "not installed".
"""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from budget.domain.prices import Price, PriceRates, Rate, TierRate, TimeOfDayRates
from budget.ingest.errors import SourceUnavailable
from budget.ingest.source import PriceSource
from budget.pricing.normalize import normalize_model, normalize_provider
from budget.pricing.refresh import SourceRecord, SourceResult

KIND = "genai_prices"
SOURCE = "genai-prices"
EXCLUDED_PROVIDERS: tuple[str, ...] = ()
EXCLUDED_PREFIXES = ("huggingface_",)

#: genai-prices price key -> PriceRates field (rates per million tokens).
RATE_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_reasoning_mtok": "reasoning",
}
PER_REQUEST_KEY = "requests_kcount"  # USD per thousand requests

_CLAUSES = (
    ("ClauseEquals", "equals", "equals"),
    ("ClauseStartsWith", "starts_with", "starts_with"),
    ("ClauseEndsWith", "ends_with", "ends_with"),
    ("ClauseContains", "contains", "contains"),
    ("ClauseRegex", "regex", "regex"),
    ("ClauseAnd", "and_", "and"),
    ("ClauseOr", "or_", "or"),
)


class Stats:
    """What the conversion left out (the shipped catalog's header lists it)."""

    def __init__(self) -> None:
        self.ignored_keys: Counter[str] = Counter()
        self.models = 0
        self.models_with_variants = 0
        self.models_without_prices: list[str] = []
        self.models_without_token_rates: list[str] = []


def _types() -> Any:
    try:
        from genai_prices import types
    except ImportError:
        raise SourceUnavailable(
            "genai-prices is not installed (pip install 'budget[catalog]')"
        ) from None
    return types


def load_providers() -> tuple[list[Any], str]:
    """genai-prices' providers and the package version; SourceUnavailable without it."""
    _types()
    from genai_prices.data import providers

    return list(providers), importlib.metadata.version("genai-prices")


def included(provider: Any) -> bool:
    """Hugging Face routes are left out, as in the shipped catalog."""
    return provider.id not in EXCLUDED_PROVIDERS and not provider.id.startswith(EXCLUDED_PREFIXES)


def convert_clause(clause: Any) -> dict[str, Any]:
    """One genai-prices Clause* object as a ``match`` dict."""
    gp = _types()
    for cls_name, attr, key in _CLAUSES:
        if isinstance(clause, getattr(gp, cls_name)):
            value = getattr(clause, attr)
            if key in ("and", "or"):
                return {key: [convert_clause(c) for c in value]}
            return {key: value}
    raise TypeError(f"unknown match clause {clause!r}")


def convert_rate(value: Any) -> Rate:
    """A flat price or TieredPrices(base, tiers) as a Rate."""
    if isinstance(value, _types().TieredPrices):
        tiers = tuple(TierRate(start=t.start, rate=t.price) for t in value.tiers)
        return Rate(base=value.base, tiers=tiers)
    return Rate(base=value)


def convert_prices(model_price: Any, stats: Stats) -> PriceRates:
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


def model_rows(model: Any, stats: Stats) -> list[dict[str, Any]]:
    """The rows of one model: ``rates``, ``time_of_day``, ``effective_from/to``."""
    gp = _types()
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
            _start_row(model.id, rows, rates, midnight_utc(constraint.start_date))
        elif isinstance(constraint, gp.TimeOfDateConstraint):
            if not rows:
                raise ValueError(f"{model.id}: time-of-day price without a base price")
            current = rows[-1]
            variant = TimeOfDayRates(
                start=utc_time(constraint.start_time),
                end=utc_time(constraint.end_time),
                rates=rates,
                effective_from=current["effective_from"],
            )
            current["time_of_day"].insert(0, variant)  # a later entry beats an earlier one
        else:
            raise TypeError(f"{model.id}: unknown constraint {constraint!r}")
    return rows


def _start_row(
    model_id: str, rows: list[dict[str, Any]], rates: PriceRates, start: datetime
) -> None:
    if rows:
        previous = rows[-1]["effective_from"]
        if previous is not None and start <= previous:
            raise ValueError(f"{model_id}: start dates out of order at {start}")
        rows[-1]["effective_to"] = start
    rows.append(_row(rates, effective_from=start))


def _row(rates: PriceRates, effective_from: datetime | None = None) -> dict[str, Any]:
    return {
        "rates": rates,
        "time_of_day": [],
        "effective_from": effective_from,
        "effective_to": None,
    }


def platform_of(provider_id: str, model_id: str) -> str:
    """The platform that bills a genai-prices model: its provider, except that
    genai-prices' ``google`` also holds Claude, which Google sells on Vertex AI
    only (the Gemini API serves no Claude), so those rows are ``vertex_ai``'s."""
    if provider_id == "google" and model_id.lower().startswith("claude"):
        return "vertex_ai"
    return provider_id


def provider_prices(provider: Any, version: str, stats: Stats) -> list[Price]:
    """Every price row of one provider, in genai-prices' model order."""
    out: list[Price] = []
    for model in provider.models:
        stats.models += 1
        if model.price_variants:
            stats.models_with_variants += 1
        rows = model_rows(model, stats)
        _note_unbillable(provider, model, rows, stats)
        extra = {"deprecated": True} if model.deprecated else {}
        out.extend(
            Price(
                provider=platform_of(provider.id, model.id),
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
            for row in rows
        )
    return out


def _note_unbillable(provider: Any, model: Any, rows: list[dict[str, Any]], stats: Stats) -> None:
    """Record models Budget cannot bill per token (they stay unpriced, not $0)."""
    if any(r["rates"].input is not None or r["rates"].output is not None for r in rows):
        return
    prices = model.prices
    entries = [prices] if not isinstance(prices, list) else [e.prices for e in prices]
    empty = all(not any(v is not None for v in e.__dict__.values()) for e in entries)
    bucket = stats.models_without_prices if empty else stats.models_without_token_rates
    bucket.append(f"{provider.id}/{model.id}")


class GenaiPricesSource(PriceSource):
    """The installed genai-prices package: prices in effect now, per model."""

    def fetch(self, http: Any, now: datetime) -> SourceResult:
        providers, version = load_providers()
        result = SourceResult(self.name, version=f"genai-prices {version}")
        for provider in providers:
            if included(provider):
                self._read_provider(provider, version, now, result)
        return result

    def _read_provider(self, provider: Any, version: str, now: datetime, out: SourceResult) -> None:
        for model in provider.models:
            provider_id = normalize_provider(platform_of(provider.id, model.id))
            try:
                rows = provider_prices(_OneModel(provider, model), version, Stats())
            except (ValueError, TypeError):
                out.skip("unreadable model", f"{provider.id}/{model.id}")
                continue
            current = [p for p in rows if _in_effect(p, now)]
            if not current or (current[0].rates.input is None and current[0].rates.output is None):
                out.skip("no token prices", f"{provider.id}/{model.id}")
                continue
            price = current[-1]
            out.records.append(
                SourceRecord(
                    provider=provider_id,
                    model=normalize_model(provider_id, model.id),
                    raw_id=f"{provider.id}/{model.id}",
                    rates=price.rates,
                    name=model.name,
                    context_window=model.context_window,
                    match=price.match,
                    time_of_day=price.time_of_day,
                )
            )


class _OneModel:
    """A provider seen with a single model, to convert models one at a time."""

    def __init__(self, provider: Any, model: Any) -> None:
        self.id = provider.id
        self.models = [model]


def _in_effect(price: Price, at: datetime) -> bool:
    if price.effective_from is not None and at < price.effective_from:
        return False
    return price.effective_to is None or at < price.effective_to
