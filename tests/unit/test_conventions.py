"""Provider token counts -> Budget's convention (input includes cache reads/writes)."""

from __future__ import annotations

import pytest

from budget.domain.prices import TokenUsage
from budget.errors import ValidationError
from budget.pricing.conventions import from_anthropic, from_openai


def test_anthropic_cache_tokens_are_added_to_input() -> None:
    usage = from_anthropic(
        input_tokens=100,
        output_tokens=50,
        cache_read_input_tokens=1_000,
        cache_creation_input_tokens=200,
    )
    assert usage == TokenUsage(
        input_tokens=1_300, output_tokens=50, cached_input_tokens=1_000, cache_write_tokens=200
    )
    assert usage.uncached_input_tokens == 100  # Anthropic's own input_tokens


def test_anthropic_without_cache_and_with_none() -> None:
    assert from_anthropic(10, 20) == TokenUsage(input_tokens=10, output_tokens=20)
    assert from_anthropic(10, 20, None, None) == TokenUsage(input_tokens=10, output_tokens=20)


def test_openai_counts_already_include_cached_and_reasoning() -> None:
    usage = from_openai(
        prompt_tokens=1_000, completion_tokens=300, cached_tokens=800, reasoning_tokens=200
    )
    assert usage == TokenUsage(
        input_tokens=1_000, output_tokens=300, cached_input_tokens=800, reasoning_tokens=200
    )
    assert usage.uncached_input_tokens == 200
    assert from_openai(5, 6) == TokenUsage(input_tokens=5, output_tokens=6)


def test_the_two_conventions_agree_on_the_same_call() -> None:
    # The same call: 900 tokens read from cache, 100 fresh; 40 output.
    anthropic = from_anthropic(input_tokens=100, output_tokens=40, cache_read_input_tokens=900)
    openai = from_openai(prompt_tokens=1_000, completion_tokens=40, cached_tokens=900)
    assert anthropic == openai


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: from_openai(10, 5, cached_tokens=11), "cached_tokens"),
        (lambda: from_openai(10, 5, reasoning_tokens=6), "reasoning_tokens"),
        (lambda: from_openai(-1, 5), "prompt_tokens"),
        (lambda: from_anthropic(1, 2.0), "output_tokens"),  # type: ignore[arg-type]
        (lambda: from_anthropic(1, 2, cache_read_input_tokens=-3), "cache_read_input_tokens"),
        (lambda: from_anthropic(True, 2), "input_tokens"),
    ],
)
def test_bad_counts_name_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as err:
        call()
    assert err.value.field == field
