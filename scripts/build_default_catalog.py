"""Regenerate budget/pricing/data/default_prices.json from the installed genai-prices.

Usage: ``.venv/bin/python scripts/build_default_catalog.py [--output PATH]``

Every genai-prices provider is included except the ``huggingface_*`` ones;
``openrouter`` is a platform of its own (its listed prices, ids such as
``openai/gpt-4o``). genai-prices' ``google`` rows for Claude are filed under
``vertex_ai`` (Google sells Claude on Vertex AI only). Per model: id,
name, context window, match rules, every dated row and the token rates Budget
bills. The conversion is the genai-prices price source's
(``budget/ingest/sources/genai_prices.py``, which documents it); the header
counts what it left out. So a peak-hour price applies on every date, as in
genai-prices (whose comments call this an upper bound for some DeepSeek dates).

genai-prices prices Gemini at the Gemini API's rates only, and Vertex AI bills
its own. So the ``vertex_ai`` rows it lacks come from LiteLLM's price file in
the installed ``litellm`` distribution (read as JSON, never imported; the
build refuses to run without it), with ``source`` ``litellm`` and its version;
an id LiteLLM gives two different prices is left out (listed in the header).
A fresh install reads the result from this JSON file and needs no litellm.

genai-prices publishes no service-tier rates, so the batch, flex and priority
rates of a current row come from the same LiteLLM file, as does its 1-hour
cache-write rate when genai-prices has none. Only when LiteLLM has exactly one
price for the (platform, model) after normalisation and its standard input and
output rates equal the row's (so it is the same price, not an older or
regional one); the row's ``extra`` then names LiteLLM's version
(``service_tiers_source``, ``cache_write_1h_source``). The header counts them.

Two built-in rows end the file: providers ``ollama`` and ``local`` price every
model at 0 (local inference is free: a known price, not a silent $0).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dataclasses  # noqa: E402

from budget.domain.prices import Price, PriceRates, Rate, steps_alike  # noqa: E402
from budget.ingest.errors import SourceUnavailable  # noqa: E402
from budget.ingest.sources.genai_prices import (  # noqa: E402
    SOURCE,
    Stats,
    included,
    load_providers,
    provider_prices,
)
from budget.ingest.sources.litellm import parse_document, read_installed_file  # noqa: E402
from budget.pricing.catalog import PriceCatalog  # noqa: E402
from budget.pricing.refresh import SourceRecord  # noqa: E402
from budget.pricing.serialize import price_to_dict  # noqa: E402

DEFAULT_OUTPUT = ROOT / "budget" / "pricing" / "data" / "default_prices.json"
BUILTIN_SOURCE = "budget-builtin"
LITELLM_SOURCE = "litellm"
VERTEX = "vertex_ai"
FREE_PROVIDERS = ("ollama", "local")


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


def litellm_records() -> tuple[list[SourceRecord], str]:
    """Every record of the installed LiteLLM price file, and its version."""
    try:
        body, version = read_installed_file()
    except SourceUnavailable as exc:
        raise SystemExit(f"build_default_catalog: {exc}") from None
    return parse_document(body, LITELLM_SOURCE, version).records, version


def vertex_prices(
    known: list[Price], records: list[SourceRecord], version: str
) -> tuple[list[Price], list[str]]:
    """Vertex AI rows from LiteLLM for the ids ``known`` rows do not price,
    and the ids left out because LiteLLM prices them twice."""
    have = PriceCatalog([p for p in known if p.provider == VERTEX])
    now = datetime.now(UTC)
    found: dict[str, Price] = {}
    twice: set[str] = set()
    for record in records:
        if record.provider != VERTEX or have.lookup(VERTEX, record.model, now) is not None:
            continue
        price = Price(
            provider=VERTEX,
            model=record.model,
            name=record.name,
            rates=record.rates,
            service_tiers=record.service_tiers,
            context_window=record.context_window,
            source=LITELLM_SOURCE,
            source_version=version.removeprefix("litellm "),
        )
        other = found.setdefault(record.model, price)
        if (other.rates, other.service_tiers) != (price.rates, price.service_tiers):
            twice.add(record.model)
    rows = [p for model, p in found.items() if model not in twice]
    return rows, sorted(twice)


def with_litellm_tiers(
    prices: list[Price], records: list[SourceRecord], version: str
) -> tuple[list[Price], dict[str, Any]]:
    """``prices`` with LiteLLM's service tiers and 1-hour cache-write rate put
    on the current rows it prices the same (see the module docstring), and
    the counts for the header."""
    by_key: dict[tuple[str, str], set[tuple]] = {}
    chosen: dict[tuple[str, str], SourceRecord] = {}
    for r in records:
        if r.service_tiers or r.rates.cache_write_1h is not None:
            key = (r.provider, r.model)
            by_key.setdefault(key, set()).add((r.rates, r.service_tiers))
            chosen[key] = r
    counts: dict[str, Any] = {
        "rows": 0,
        "cache_write_1h_rows": 0,
        "flat_tiers_skipped": 0,
        "tiers": {},
    }
    differ: list[str] = []
    out = []
    for price in prices:
        key = (price.provider, price.model)
        record = chosen.get(key)
        if record is None or price.effective_to is not None or len(by_key[key]) > 1:
            out.append(price)
            continue
        if not _same_standard(price.rates, record.rates):
            differ.append(f"{price.provider}:{price.model}")
            out.append(price)
            continue
        out.append(_take_tiers(price, record, version.removeprefix("litellm "), counts))
    counts["tiers"] = dict(sorted(counts["tiers"].items()))
    counts["standard_rates_differ"] = len(differ)
    return out, counts


def _same_standard(ours: PriceRates, theirs: PriceRates) -> bool:
    """Whether two prices' standard input and output base rates are equal."""
    pairs = ((ours.input, theirs.input), (ours.output, theirs.output))
    return all((a and a.base) == (b and b.base) for a, b in pairs)


def _take_tiers(price: Price, record: SourceRecord, version: str, counts: dict) -> Price:
    extra = dict(price.extra)
    tiers, rates = price.service_tiers, price.rates
    if not tiers and record.service_tiers:
        tiers = tuple(t for t in record.service_tiers if steps_alike(rates, t.rates))
        counts["flat_tiers_skipped"] += len(record.service_tiers) - len(tiers)
    if tiers and not price.service_tiers:
        extra["service_tiers_source"] = f"{LITELLM_SOURCE} {version}"
        counts["rows"] += 1
        for tier in tiers:
            counts["tiers"][tier.tier] = counts["tiers"].get(tier.tier, 0) + 1
    if rates.cache_write_1h is None and record.rates.cache_write_1h is not None:
        rates = dataclasses.replace(rates, cache_write_1h=record.rates.cache_write_1h)
        extra["cache_write_1h_source"] = f"{LITELLM_SOURCE} {version}"
        counts["cache_write_1h_rows"] += 1
    return dataclasses.replace(price, rates=rates, service_tiers=tiers, extra=extra)


def build() -> tuple[dict[str, Any], list[Price]]:
    """The header and every price row of the default catalog."""
    gp_providers, version = load_providers()
    stats = Stats()
    chosen = [p for p in gp_providers if included(p)]
    prices = [price for p in chosen for price in provider_prices(p, version, stats)]
    records, litellm_version = litellm_records()
    prices, tier_counts = with_litellm_tiers(prices, records, litellm_version)
    vertex, vertex_twice = vertex_prices(prices, records, litellm_version)
    prices += vertex
    prices += builtin_prices()
    header = {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": SOURCE,
        "source_version": version,
        "providers": sorted({p.provider for p in prices}),
        "excluded_providers": sorted(p.id for p in gp_providers if not included(p)),
        "vertex_ai_source": f"{litellm_version}: {len(vertex)} rows",
        "vertex_ai_priced_twice": vertex_twice,
        "litellm_service_tiers": {"source": litellm_version, **tier_counts},
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
