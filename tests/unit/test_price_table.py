"""The shipped catalog (with its corrections) prices a table of calls across
the top providers exactly, at dates before and after known price changes.

Each expected figure is computed by hand from the provider's published price
named beside it (USD per 1M tokens; pages checked 2026-12-03, from stored
copies where the live page was out of reach). A failure here means the
catalog, a correction or the lookup disagrees with a provider's own price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from budget.domain.prices import TokenUsage
from budget.pricing.catalog import PriceCatalog
from budget.pricing.corrections import corrected_default_prices
from budget.pricing.cost import compute_cost

OPENAI = "https://openai.com/api/pricing/"
ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
GEMINI = "https://ai.google.dev/gemini-api/docs/pricing"
DEEPSEEK = "https://api-docs.deepseek.com/quick_start/pricing"
DEEPSEEK_V32 = "https://api-docs.deepseek.com/news/news250929"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def use(inp: int, out: int = 0, cached: int = 0, write: int = 0, write_1h: int = 0) -> TokenUsage:
    return TokenUsage(
        input_tokens=inp,
        output_tokens=out,
        cached_input_tokens=cached,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
    )


M = 1_000_000
CASES = [
    # (page, platform, model as sent, when, usage, expected USD)
    # gpt-4o: $2.50 in, $1.25 cached, $10 out -> 0.8M x 2.5 + 0.2M x 1.25 + 0.1M x 10
    (OPENAI, "openai", "gpt-4o", at(2026, 6, 1), use(M, 100_000, cached=200_000), "3.25"),
    # Azure OpenAI's global deployment lists gpt-4o at OpenAI's price: the declared fallback
    (OPENAI, "azure", "gpt-4o", at(2026, 6, 1), use(M, 100_000, cached=200_000), "3.25"),
    # gpt-4o-mini: $0.15 in, $0.60 out
    (OPENAI, "openai", "gpt-4o-mini", at(2026, 6, 1), use(M, M), "0.75"),
    # o3: $10 / $40 at launch; from 2025-06-10 80% less, $2 / $8
    (OPENAI, "openai", "o3", at(2025, 5, 1), use(M, M), "50"),
    (OPENAI, "openai", "o3", at(2025, 7, 1), use(M, M), "10"),
    # claude-opus-4-1: $15 in, $75 out
    (ANTHROPIC, "anthropic", "claude-opus-4-1", at(2026, 1, 15), use(M, M), "90"),
    # claude-sonnet-4-5: $3 / $15 up to 200k input tokens; above, $6 / $22.50 for the call
    (ANTHROPIC, "anthropic", "claude-sonnet-4-5", at(2026, 1, 15), use(100_000, 10_000), "0.45"),
    (ANTHROPIC, "anthropic", "claude-sonnet-4-5", at(2026, 1, 15), use(300_000, 10_000), "2.025"),
    # cache writes: 5 minutes at 1.25x input ($3.75), 1 hour at 2x ($6); reads $0.30
    (
        ANTHROPIC,
        "anthropic",
        "claude-sonnet-4-5",
        at(2026, 1, 15),
        use(150_000, 0, cached=50_000, write=100_000, write_1h=40_000),
        "0.48",  # 50k x 0.30 + 60k x 3.75 + 40k x 6 = 0.015 + 0.225 + 0.24
    ),
    # gemini-2.5-pro: $1.25 / $10 up to 200k input tokens, $2.50 / $15 above
    (GEMINI, "google", "gemini-2.5-pro", at(2026, 1, 15), use(100_000, 10_000), "0.225"),
    (GEMINI, "google", "gemini-2.5-pro", at(2026, 1, 15), use(300_000, 10_000), "0.9"),
    # the id shape the Gemini API's own SDK reports
    (GEMINI, "google", "models/gemini-2.5-pro", at(2026, 1, 15), use(100_000, 10_000), "0.225"),
    # deepseek-chat until 2025-09-05 16:00 UTC: $0.27 / $1.10 from 00:30 to 16:30 UTC,
    # half that at night; then $0.56 / $1.68 all day
    (DEEPSEEK, "deepseek", "deepseek-chat", at(2025, 8, 1, 10), use(M, M), "1.37"),
    (DEEPSEEK, "deepseek", "deepseek-chat", at(2025, 8, 1, 20), use(M, M), "0.685"),
    (DEEPSEEK, "deepseek", "deepseek-chat", at(2025, 9, 10, 20), use(M, M), "2.24"),
    # from 2025-09-29 (V3.2): $0.28 in, $0.028 cached, $0.42 out, day and night
    (DEEPSEEK_V32, "deepseek", "deepseek-chat", at(2025, 12, 1, 20), use(M, M), "0.70"),
    (DEEPSEEK_V32, "deepseek", "deepseek-reasoner", at(2025, 12, 1, 10), use(M, M), "0.70"),
]


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog(corrected_default_prices())


@pytest.mark.parametrize(
    ("page", "platform", "model", "when", "usage", "expected"),
    CASES,
    ids=[f"{c[1]}/{c[2]}@{c[3]:%Y-%m-%dT%H}" for c in CASES],
)
def test_the_catalog_prices_the_published_figure(
    catalog, page, platform, model, when, usage, expected
) -> None:
    price = catalog.lookup(platform, model, when)
    assert price is not None, f"{platform}/{model} unpriced at {when} (published on {page})"
    assert compute_cost(price, usage, when).total_usd == D(expected), page
