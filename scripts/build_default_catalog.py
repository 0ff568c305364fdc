"""Regenerate budget/pricing/data/default_prices.json from the installed genai-prices.

Usage: ``.venv/bin/python scripts/build_default_catalog.py [--output PATH]``

Every genai-prices provider is included except the ``huggingface_*`` ones and
``openrouter`` (it only re-sells other providers' models). Per model: id,
name, context window, match rules, every dated row and the token rates Budget
bills. The conversion is the genai-prices price source's
(``budget/pricing/sources/genai_prices.py``, which documents it); the header
counts what it left out. So a peak-hour price applies on every date, as in
genai-prices (whose comments call this an upper bound for some DeepSeek dates).

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
from budget.pricing.serialize import price_to_dict  # noqa: E402
from budget.pricing.sources.genai_prices import (  # noqa: E402
    SOURCE,
    Stats,
    included,
    load_providers,
    provider_prices,
)

DEFAULT_OUTPUT = ROOT / "budget" / "pricing" / "data" / "default_prices.json"
BUILTIN_SOURCE = "budget-builtin"
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


def build() -> tuple[dict[str, Any], list[Price]]:
    """The header and every price row of the default catalog."""
    gp_providers, version = load_providers()
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
