"""Platform-aware resolution: the id shapes users send, declared fallbacks, hints.

The prices here are made up (round numbers): the tests are about which row a
(platform, model) resolves to, not about any provider's figures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from budget.domain.prices import Price, PriceRates, Rate
from budget.pricing import PriceCatalog
from budget.pricing.default_catalog import default_catalog_header
from budget.pricing.platforms import (
    PLATFORM_FALLBACKS,
    candidate_ids,
    normalize_platform,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
JUN = datetime(2026, 6, 1, tzinfo=UTC)
BEFORE = datetime(2026, 5, 1, tzinfo=UTC)


def p(
    provider: str,
    model: str,
    rate: str,
    *,
    match: tuple[dict, ...] = (),
    effective_from: datetime | None = None,
) -> Price:
    return Price(
        provider=provider,
        model=model,
        rates=PriceRates(input=Rate(Decimal(rate)), output=Rate(Decimal(rate))),
        source="test",
        match=match,
        effective_from=effective_from,
    )


CATALOG = PriceCatalog(
    [
        p("openai", "gpt-4o", "2", match=({"starts_with": "gpt-4o"},)),
        p("anthropic", "claude-sonnet-4-5", "3", match=({"starts_with": "claude-sonnet-4-5"},)),
        p("google", "gemini-2.5-pro", "1"),
        p("google", "gemini-2.0-flash", "10"),
        p("vertex_ai", "gemini-2.0-flash", "15"),
        p("aws", "anthropic.claude-sonnet-4-5-20250929-v1:0", "30"),
        p("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "33"),
        p("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "31"),
        p("aws", "us-gov-east-1/anthropic.claude-sonnet-4-5-20250929-v1:0", "36"),
        p("openrouter", "openai/gpt-4o", "4"),
        p("azure", "gpt-5-azure-only", "7"),
        p("azure", "o9", "9", effective_from=JUN),
        p("openai", "o9", "8"),
    ]
)


def resolved(provider: str, model: str, at: datetime = NOW) -> tuple[str | None, str, str | None]:
    """(rate, rule, platform of the row) of a resolution."""
    found = CATALOG.resolve(provider, model, at)
    price = found.price
    rate = None if price is None else str(price.rates.input.base)  # type: ignore[union-attr]
    return rate, found.rule, None if price is None else price.provider


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        # the Gemini API's resource name and a gemini/ prefix
        ("google", "models/gemini-2.5-pro", ("1", "exact", "google")),
        ("gemini", "gemini/gemini-2.5-pro", ("1", "exact", "google")),
        # Vertex resource names, short and full; a Vertex @version pin
        ("vertex_ai", "publishers/google/models/gemini-2.0-flash", ("15", "exact", "vertex_ai")),
        (
            "vertex_ai",
            "projects/acme-1/locations/us-central1/publishers/google/models/gemini-2.0-flash",
            ("15", "exact", "vertex_ai"),
        ),
        ("vertex_ai", "gemini-2.0-flash@001", ("15", "exact", "vertex_ai")),
        # Bedrock: in-region, geographic and global profiles, a region's own row
        ("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", ("30", "exact", "aws")),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", ("33", "exact", "aws")),
        ("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", ("31", "exact", "aws")),
        (
            "bedrock",
            "bedrock/us-gov-east-1/anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("36", "exact", "aws"),
        ),
        # a provider prefix naming the platform, and an azure/ prefix
        ("anthropic", "anthropic/claude-sonnet-4-5", ("3", "exact", "anthropic")),
        ("azure", "azure/gpt-5-azure-only", ("7", "exact", "azure")),
        # OpenRouter: the author is part of the id, not a prefix to strip
        ("openrouter", "openai/gpt-4o", ("4", "exact", "openrouter")),
        ("openrouter", "openrouter/openai/gpt-4o", ("4", "exact", "openrouter")),
    ],
)
def test_id_shapes_users_send(provider: str, model: str, expected: tuple) -> None:
    assert resolved(provider, model) == expected


def test_vertex_is_not_priced_as_the_gemini_api() -> None:
    assert resolved("vertex_ai", "gemini-2.0-flash") == ("15", "exact", "vertex_ai")
    assert resolved("gemini", "gemini-2.0-flash") == ("10", "exact", "google")
    # Vertex has no gemini-2.5-pro row here: unpriced, never the Gemini API's row
    assert resolved("vertex", "publishers/google/models/gemini-2.5-pro") == (None, "none", None)


def test_bedrock_regional_rows_are_kept_apart() -> None:
    rates = {
        resolved("bedrock", model)[0]
        for model in (
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us-gov-east-1/anthropic.claude-sonnet-4-5-20250929-v1:0",
        )
    }
    assert rates == {"30", "33", "31", "36"}
    # a region without a row of its own is not priced from another region's
    assert resolved("bedrock", "eu-west-3/anthropic.claude-sonnet-4-5-20250929-v1:0")[0] is None


def test_azure_falls_back_to_openai_and_says_so() -> None:
    found = CATALOG.resolve("azure", "azure/gpt-4o-2024-08-06", NOW)
    assert found.rule == "fallback" and found.via == "openai"
    assert found.price is not None and found.price.provider == "openai"
    assert found.describe() == (
        "priced from openai's gpt-4o via azure's declared fallback to openai "
        "(azure has no price of its own for 'azure/gpt-4o-2024-08-06')"
    )
    assert CATALOG.lookup("azure_openai", "gpt-4o", NOW) is found.price


def test_a_fallback_is_one_step_and_only_where_declared() -> None:
    # vertex_ai declares anthropic: Claude on Vertex, with a pinned version
    found = CATALOG.resolve(
        "vertex_ai", "publishers/anthropic/models/claude-sonnet-4-5@20250929", NOW
    )
    assert (found.rule, found.via) == ("fallback", "anthropic")
    # bedrock declares none: Claude at Bedrock is not priced from Anthropic
    assert resolved("bedrock", "claude-sonnet-4-5") == (None, "none", None)
    # openrouter declares none: an id it does not list stays unpriced
    assert resolved("openrouter", "anthropic/claude-sonnet-4-5") == (None, "none", None)


def test_a_platform_row_from_a_date_replaces_the_fallback_from_that_date() -> None:
    assert resolved("azure", "o9", BEFORE) == ("8", "fallback", "openai")
    assert resolved("azure", "o9", NOW) == ("9", "exact", "azure")
    assert resolved("azure", "o9", BEFORE) == ("8", "fallback", "openai")  # cached answer spans


def test_unpriced_hint_names_the_platform_ids_and_fallbacks() -> None:
    found = CATALOG.resolve("vertex", "models/gemini-9", NOW)
    assert found.price is None and found.rule == "none"
    assert found.hint() == (
        "no price for model 'models/gemini-9' at platform 'vertex_ai': looked for "
        "vertex_ai/models/gemini-9, vertex_ai/gemini-9; then its declared fallbacks: "
        "anthropic/gemini-9"
    )
    assert CATALOG.resolve("openai", "gpt-9", NOW).hint() == (
        "no price for model 'gpt-9' at platform 'openai': looked for openai/gpt-9; "
        "openai declares no fallback platform"
    )
    assert "the catalog has no prices for this platform" in CATALOG.resolve("acme", "m", NOW).hint()


def test_candidate_ids_most_literal_first() -> None:
    assert candidate_ids("perplexity", "perplexity/sonar") == ["perplexity/sonar", "sonar"]
    assert candidate_ids("openrouter", "openai/gpt-4o") == ["openai/gpt-4o"]
    assert candidate_ids("vertex_ai", "vertex_ai/claude-sonnet-4-5@20250929") == [
        "vertex_ai/claude-sonnet-4-5@20250929",
        "claude-sonnet-4-5@20250929",
        "claude-sonnet-4-5",
    ]
    assert candidate_ids("google", "vertex_ai/gemini-2.5-pro") == ["vertex_ai/gemini-2.5-pro"]


def test_platform_names() -> None:
    assert normalize_platform(" Vertex ") == "vertex_ai"
    assert normalize_platform("google-vertex") == "vertex_ai"
    assert normalize_platform("gemini") == "google"
    assert normalize_platform("bedrock") == "aws"
    assert normalize_platform("azure_openai") == "azure"


def test_declared_fallbacks_are_the_shipped_sources() -> None:
    """genai-prices' map, with its google -> anthropic (Claude) filed under Vertex AI."""
    shipped = default_catalog_header()["fallback_model_providers"]
    expected = {("vertex_ai" if k == "google" else k): tuple(v) for k, v in shipped.items()}
    assert dict(PLATFORM_FALLBACKS) == expected
