"""Model id normalisation: provider apart, prefixes and suffixes off, aliases, no fuzz."""

from __future__ import annotations

import pytest

from budget.pricing.normalize import (
    aliases,
    fallback_ids,
    is_skipped,
    model_key,
    normalize_model,
    normalize_provider,
    parse_aliases,
    split_author,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("openai", "openai"),
        (" OpenAI ", "openai"),
        ("gemini", "google"),
        ("vertex_ai-language-models", "vertex_ai"),  # Vertex AI bills apart from the Gemini API
        ("vertex_ai-anthropic_models", "vertex_ai"),
        ("vertex_ai", "vertex_ai"),
        ("bedrock_converse", "aws"),
        ("together_ai", "together"),
        ("fireworks_ai", "fireworks"),
        ("xai", "x-ai"),
        ("mistralai", "mistral"),
        ("moonshot-ai", "moonshotai"),
        ("z.ai", "zai"),
        ("some-new-provider", "some-new-provider"),
    ],
)
def test_provider_names_map_to_catalog_ids(given: str, expected: str) -> None:
    assert normalize_provider(given) == expected


@pytest.mark.parametrize(
    ("provider", "raw", "expected"),
    [
        ("google", "gemini/gemini-2.5-pro", "gemini-2.5-pro"),
        ("vertex_ai", "vertex_ai/gemini-2.5-pro", "gemini-2.5-pro"),
        ("google", "vertex_ai/gemini-2.5-pro", "vertex_ai/gemini-2.5-pro"),  # another platform
        ("vertex_ai", "claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"),
        ("azure", "azure/gpt-4o", "gpt-4o"),
        ("azure", "azure/eu/gpt-4o", "eu/gpt-4o"),
        ("openai", "openrouter/openai/gpt-4o", "gpt-4o"),
        ("openrouter", "openrouter/meta-llama/llama-3.3-70b", "meta-llama/llama-3.3-70b"),
        ("openai", "GPT-4o", "gpt-4o"),
        ("openai", "gpt-4o:free", "gpt-4o"),
        (
            "aws",
            "bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0",
            "us-east-1/anthropic.claude-3-haiku-20240307-v1:0",  # a region's row stays its own
        ),
        (
            "aws",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        ),
        ("arcee", "deepseek/deepseek-v4-pro", "deepseek/deepseek-v4-pro"),
        ("anthropic", "claude-opus-4", "claude-opus-4-0"),
        ("anthropic", "claude-opus.4", "claude-opus.4"),
    ],
)
def test_model_ids_lose_routing_prefixes_and_suffixes(
    provider: str, raw: str, expected: str
) -> None:
    assert normalize_model(provider, raw) == expected


def test_version_dots_and_dashes_share_one_key() -> None:
    assert model_key("claude-3.5-sonnet") == model_key("claude-3-5-sonnet") == "claude-3-5-sonnet"
    assert model_key("GPT-4.1-mini") == "gpt-4-1-mini"
    assert model_key("gemini-2.5-pro") == "gemini-2-5-pro"
    # only dots between digits move: a dot in a vendor prefix stays
    assert model_key("anthropic.claude-3-haiku") == "anthropic.claude-3-haiku"


def test_bedrock_cross_region_prefix_is_only_a_fallback() -> None:
    assert fallback_ids("aws", "us.anthropic.claude-3-haiku-v1:0") == (
        "anthropic.claude-3-haiku-v1:0",
    )
    assert fallback_ids("aws", "global.anthropic.claude-opus-5") == ("anthropic.claude-opus-5",)
    assert fallback_ids("aws", "anthropic.claude-3-haiku-v1:0") == ()
    assert fallback_ids("openai", "us.gpt-4o") == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("anthropic/claude-sonnet-4.5", ("anthropic", "claude-sonnet-4.5")),
        ("openai/gpt-4o", ("openai", "gpt-4o")),
        ("mistralai/mistral-large", ("mistral", "mistral-large")),
        ("x-ai/grok-4", ("x-ai", "grok-4")),
        ("z-ai/glm-4.6", ("zai", "glm-4.6")),
        ("meta-llama/llama-3.3-70b-instruct", ("openrouter", "meta-llama/llama-3.3-70b-instruct")),
        (
            "meta-llama/llama-3.3-70b-instruct:free",
            ("openrouter", "meta-llama/llama-3.3-70b-instruct"),
        ),
        ("solo-model", ("openrouter", "solo-model")),
    ],
)
def test_openrouter_authors_split_into_provider_and_model(raw: str, expected: tuple) -> None:
    assert split_author(raw) == expected


def test_alias_table_is_explicit_and_nothing_is_fuzzy() -> None:
    table = parse_aliases(
        {
            "providers": {"Acme_AI": "acme"},
            "models": {"acme": {"rocket-1.5": "rocket-1-5-2026"}},
            "skip": {"feed": ["rocket-1.5-long"]},
        }
    )
    assert normalize_provider("acme_ai", table) == "acme"
    assert normalize_model("acme", "rocket-1.5", table) == "rocket-1-5-2026"
    assert normalize_model("acme", "rocket-1-5", table) == "rocket-1-5-2026"  # same key
    assert normalize_model("acme", "rocket-1.6", table) == "rocket-1.6"  # no guessing
    assert normalize_model("acme", "rockett-1.5", table) == "rockett-1.5"
    assert is_skipped("feed", "rocket-1-5-long", table)
    assert not is_skipped("other-feed", "rocket-1.5-long", table)


def test_shipped_alias_file_loads() -> None:
    table = aliases()
    assert table.providers["gemini"] == "google"
    assert "anthropic" in table.first_party
    assert ":free" in table.strip_suffixes
    assert is_skipped("llm-prices", "claude-sonnet-4.5-200k")
