"""Regenerate budget/pricing/data/default_prices.json from the installed genai-prices.

Usage: ``.venv/bin/python scripts/build_default_catalog.py [--output PATH]``

Every genai-prices provider is included except the ``huggingface_*`` ones;
``openrouter`` is a platform of its own (its listed prices, ids such as
``openai/gpt-4o``). genai-prices' ``google`` rows for Claude are filed under
``vertex_ai`` (Google sells Claude on Vertex AI only). Per model: id,
name, context window, match rules, every dated row and the token rates Budget
bills. The conversion is the genai-prices price source's
(``budget/pricing/sources/genai_prices.py``, which documents it); the header
counts what it left out. So a peak-hour price applies on every date, as in
genai-prices (whose comments call this an upper bound for some DeepSeek dates).

genai-prices prices Gemini at the Gemini API's rates only, and Vertex AI bills
its own. So the ``vertex_ai`` rows it lacks come from LiteLLM's price file in
the installed ``litellm`` distribution (read as JSON, never imported; the
build refuses to run without it), with ``source`` ``litellm`` and its version;
an id LiteLLM gives two different prices is left out (listed in the header).
A fresh install reads the result from this JSON file and needs no litellm.

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

from budget.domain.prices import Price, PriceRates, Rate  # noqa: E402
from budget.pricing.catalog import PriceCatalog  # noqa: E402
from budget.pricing.serialize import price_to_dict  # noqa: E402
from budget.pricing.sources.base import SourceUnavailable  # noqa: E402
from budget.pricing.sources.genai_prices import (  # noqa: E402
    SOURCE,
    Stats,
    included,
    load_providers,
    provider_prices,
)
from budget.pricing.sources.litellm import parse_document, read_installed_file  # noqa: E402

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


def vertex_prices(known: list[Price]) -> tuple[list[Price], str, list[str]]:
    """Vertex AI rows from LiteLLM for the ids ``known`` rows do not price,
    LiteLLM's version, and the ids left out because LiteLLM prices them twice."""
    try:
        body, version = read_installed_file()
    except SourceUnavailable as exc:
        raise SystemExit(f"build_default_catalog: {exc}") from None
    have = PriceCatalog([p for p in known if p.provider == VERTEX])
    now = datetime.now(UTC)
    found: dict[str, Price] = {}
    twice: set[str] = set()
    for record in parse_document(body, LITELLM_SOURCE, version).records:
        if record.provider != VERTEX or have.lookup(VERTEX, record.model, now) is not None:
            continue
        price = Price(
            provider=VERTEX,
            model=record.model,
            name=record.name,
            rates=record.rates,
            context_window=record.context_window,
            source=LITELLM_SOURCE,
            source_version=version.removeprefix("litellm "),
        )
        other = found.setdefault(record.model, price)
        if other.rates != price.rates:
            twice.add(record.model)
    rows = [p for model, p in found.items() if model not in twice]
    return rows, version, sorted(twice)


def build() -> tuple[dict[str, Any], list[Price]]:
    """The header and every price row of the default catalog."""
    gp_providers, version = load_providers()
    stats = Stats()
    chosen = [p for p in gp_providers if included(p)]
    prices = [price for p in chosen for price in provider_prices(p, version, stats)]
    vertex, litellm_version, vertex_twice = vertex_prices(prices)
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
