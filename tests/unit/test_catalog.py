"""PriceCatalog.lookup: normalisation, match rules, dates, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from budget.domain.prices import Price, PriceRates, Rate
from budget.pricing import PriceCatalog
from budget.pricing.catalog import PROVIDER_ALIASES, compile_match
from budget.pricing.platforms import candidate_ids, normalize_platform

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
JAN = datetime(2026, 1, 1, tzinfo=UTC)
JUN = datetime(2026, 6, 1, tzinfo=UTC)


def p(
    provider: str,
    model: str,
    input_rate: str = "1",
    *,
    match: tuple[dict, ...] = (),
    effective_from: datetime | None = None,
    effective_to: datetime | None = None,
    is_override: bool = False,
) -> Price:
    return Price(
        provider=provider,
        model=model,
        rates=PriceRates(input=Rate(Decimal(input_rate)), output=Rate(Decimal(input_rate))),
        source="manual" if is_override else "test",
        match=match,
        effective_from=effective_from,
        effective_to=effective_to,
        is_override=is_override,
    )


def rate_of(price: Price | None) -> str | None:
    return None if price is None else str(price.rates.input.base)  # type: ignore[union-attr]


CATALOG = PriceCatalog(
    [
        p(
            "openai",
            "gpt-4o",
            "2.5",
            match=({"or": [{"equals": "gpt-4o"}, {"starts_with": "gpt-4o-2024"}]},),
        ),
        p("openai", "gpt-4o-mini", "0.15", match=({"starts_with": "gpt-4o-mini"},)),
        p("openai", "o1", "15", match=({"regex": r"^o1(-\d{4}-\d{2}-\d{2})?$"},)),
        p(
            "anthropic",
            "claude-sonnet-4-5",
            "3",
            match=({"and": [{"starts_with": "claude-sonnet-4"}, {"contains": "4-5"}]},),
        ),
        p("anthropic", "claude-generic", "9", match=({"contains": "claude"},)),
        p("google", "gemini-2.5-pro", "1.25", match=({"starts_with": "gemini-2.5-pro"},)),
        p("x-ai", "grok-4", "3", match=({"ends_with": "grok-4"},)),
        p("mistral", "mistral-large", "2", match=({"equals": "mistral-large-latest"},)),
        p("perplexity", "sonar", "1"),
        p("perplexity", "perplexity/sonar", "0.25"),
        p("ollama", "*", "0", match=({"any": True},)),
    ]
)


def test_exact_model_id_case_and_spaces() -> None:
    assert rate_of(CATALOG.lookup("openai", "gpt-4o", NOW)) == "2.5"
    assert rate_of(CATALOG.lookup(" OpenAI ", " GPT-4o-Mini ", NOW)) == "0.15"


def test_provider_prefix_is_dropped() -> None:
    assert rate_of(CATALOG.lookup("openai", "openai/gpt-4o", NOW)) == "2.5"
    assert rate_of(CATALOG.lookup("google", "gemini/gemini-2.5-pro", NOW)) == "1.25"
    assert CATALOG.lookup("openai", "anthropic/gpt-4o", NOW) is None


def test_a_prefixed_id_that_is_its_own_model_wins_over_the_stripped_one() -> None:
    assert rate_of(CATALOG.lookup("perplexity", "perplexity/sonar", NOW)) == "0.25"
    assert rate_of(CATALOG.lookup("perplexity", "sonar", NOW)) == "1"


@pytest.mark.parametrize(
    ("alias", "model", "expected"),
    [
        ("gemini", "gemini-2.5-pro", "1.25"),
        ("google_ai_studio", "gemini-2.5-pro-preview", "1.25"),
        ("xai", "grok-4", "3"),
        ("MistralAI", "mistral-large-latest", "2"),
    ],
)
def test_provider_aliases(alias: str, model: str, expected: str) -> None:
    assert rate_of(CATALOG.lookup(alias, model, NOW)) == expected


def test_alias_map_is_as_documented() -> None:
    assert normalize_platform("bedrock") == "aws"
    assert normalize_platform("azure_openai") == "azure"
    assert normalize_platform("Vertex") == "vertex_ai"  # not google: Vertex bills its own prices
    assert set(PROVIDER_ALIASES.values()) <= {
        "google",
        "vertex_ai",
        "x-ai",
        "mistral",
        "aws",
        "azure",
    }
    assert candidate_ids("google", "Gemini/Gemini-2.5-Pro")[-1] == "gemini-2.5-pro"
    assert candidate_ids("together", "meta-llama/Llama-3-8b") == ["meta-llama/llama-3-8b"]


def test_vertex_is_not_priced_as_the_gemini_api() -> None:
    assert CATALOG.lookup("vertex_ai", "gemini-2.5-pro", NOW) is None
    assert CATALOG.lookup("google-vertex", "gemini-2.5-pro", NOW) is None


def test_match_rules_starts_with_regex_and_or_ends_with() -> None:
    assert CATALOG.lookup("openai", "gpt-4o-2024-08-06", NOW).model == "gpt-4o"  # type: ignore[union-attr]
    assert CATALOG.lookup("openai", "gpt-4o-mini-2024-07-18", NOW).model == "gpt-4o-mini"  # type: ignore[union-attr]
    assert CATALOG.lookup("openai", "o1-2024-12-17", NOW).model == "o1"  # type: ignore[union-attr]
    assert CATALOG.lookup("openai", "o1-preview", NOW) is None  # the regex is anchored
    assert CATALOG.lookup("x-ai", "x-grok-4", NOW).model == "grok-4"  # type: ignore[union-attr]


def test_and_clause_and_catalog_order() -> None:
    assert CATALOG.lookup("anthropic", "claude-sonnet-4-5-20250929", NOW).model == (  # type: ignore[union-attr]
        "claude-sonnet-4-5"
    )
    # "and" fails (no "4-5") -> the next rule in catalog order catches it.
    assert CATALOG.lookup("anthropic", "claude-sonnet-4-0", NOW).model == "claude-generic"  # type: ignore[union-attr]


def test_any_matches_every_model_of_a_free_provider() -> None:
    for model in ("llama3", "qwen2.5:7b", "library/mistral"):
        price = CATALOG.lookup("ollama", model, NOW)
        assert price is not None and price.rates.input == Rate(Decimal(0))
    assert CATALOG.lookup("openai", "llama3", NOW) is None  # only within that provider


def test_unknown_model_or_provider_is_none() -> None:
    assert CATALOG.lookup("openai", "gpt-99", NOW) is None
    assert CATALOG.lookup("nobody", "gpt-4o", NOW) is None
    assert CATALOG.lookup("openai", "  ", NOW) is None
    assert CATALOG.lookup("openai", "gpt", NOW) is None  # no fuzzy matching


def test_effective_dates_pick_the_row_in_force() -> None:
    cat = PriceCatalog(
        [
            p("openai", "gpt-x", "10", match=({"starts_with": "gpt-x"},), effective_to=JUN),
            p("openai", "gpt-x", "5", match=({"starts_with": "gpt-x"},), effective_from=JUN),
        ]
    )
    assert rate_of(cat.lookup("openai", "gpt-x", JAN)) == "10"
    assert rate_of(cat.lookup("openai", "gpt-x", JUN - timedelta(microseconds=1))) == "10"
    assert rate_of(cat.lookup("openai", "gpt-x", JUN)) == "5"  # from is inclusive, to exclusive
    assert rate_of(cat.lookup("openai", "gpt-x-2026", JAN)) == "10"  # by rules, too
    assert rate_of(cat.lookup("openai", "gpt-x-2026", NOW)) == "5"
    # naive = UTC; other offsets are compared as instants
    assert rate_of(cat.lookup("openai", "gpt-x", datetime(2026, 6, 1))) == "5"
    cest = timezone(timedelta(hours=2))
    assert rate_of(cat.lookup("openai", "gpt-x", datetime(2026, 6, 1, 1, 0, tzinfo=cest))) == "10"


def test_price_not_yet_or_no_longer_in_effect_is_none() -> None:
    cat = PriceCatalog([p("openai", "gpt-y", "1", effective_from=JUN, effective_to=NOW)])
    assert cat.lookup("openai", "gpt-y", JAN) is None
    assert cat.lookup("openai", "gpt-y", NOW) is None
    assert cat.lookup("openai", "gpt-y", JUN) is not None


def test_override_wins_over_non_override() -> None:
    cat = PriceCatalog(
        [
            p("openai", "gpt-4o", "2.5", match=({"starts_with": "gpt-4o"},)),
            p("openai", "gpt-4o", "1.99", is_override=True),
            p("openai", "gpt-4o", "3", effective_from=JUN),  # newer, but not an override
        ]
    )
    assert rate_of(cat.lookup("openai", "gpt-4o", NOW)) == "1.99"
    assert rate_of(cat.lookup("openai", "gpt-4o-2024-08-06", NOW)) == "2.5"


def test_override_by_rule_beats_exact_non_override() -> None:
    cat = PriceCatalog(
        [
            p("openai", "gpt-4o", "2.5"),
            p("openai", "house-rate", "1", match=({"starts_with": "gpt-"},), is_override=True),
        ]
    )
    assert rate_of(cat.lookup("openai", "gpt-4o", NOW)) == "1"


def test_expired_override_falls_back() -> None:
    cat = PriceCatalog(
        [
            p("openai", "gpt-4o", "2.5"),
            p("openai", "gpt-4o", "1", is_override=True, effective_to=JUN),
        ]
    )
    assert rate_of(cat.lookup("openai", "gpt-4o", JAN)) == "1"
    assert rate_of(cat.lookup("openai", "gpt-4o", NOW)) == "2.5"


def test_latest_exact_row_wins_when_rows_overlap() -> None:
    cat = PriceCatalog([p("openai", "m", "1"), p("openai", "m", "2", effective_from=JUN)])
    assert rate_of(cat.lookup("openai", "m", JAN)) == "1"
    assert rate_of(cat.lookup("openai", "m", NOW)) == "2"


def test_rule_cache_keeps_the_time_filter_correct() -> None:
    cat = PriceCatalog(
        [
            p("openai", "a", "1", match=({"starts_with": "gpt"},), effective_to=JUN),
            p("openai", "b", "2", match=({"starts_with": "gpt"},), effective_from=JUN),
        ]
    )
    for _ in range(2):  # the second round is served from the cache
        assert rate_of(cat.lookup("openai", "gpt-z", JAN)) == "1"
        assert rate_of(cat.lookup("openai", "gpt-z", NOW)) == "2"


def test_catalog_accessors() -> None:
    assert len(CATALOG) == 11
    assert CATALOG.providers() == sorted(
        ["openai", "anthropic", "google", "x-ai", "mistral", "perplexity", "ollama"]
    )
    assert [x.model for x in CATALOG.prices()][:2] == ["gpt-4o", "gpt-4o-mini"]
    assert len(PriceCatalog([])) == 0
    assert PriceCatalog(iter([p("Gemini", "x")])).providers() == ["google"]


@pytest.mark.parametrize(
    "clause",
    [{"bogus": "x"}, {"equals": 1}, {"and": []}, {"any": False}, {"regex": "("}, {}],
)
def test_bad_match_clauses_are_refused(clause: dict) -> None:
    with pytest.raises(ValueError):
        compile_match([clause])


def test_match_clauses_compare_lowercased() -> None:
    assert compile_match([{"equals": "GPT-4o"}])("gpt-4o")
    assert compile_match([{"contains": "Sonnet"}])("claude-sonnet-4")
    assert not compile_match([])("anything")
