"""Provider token counts converted, once, to Budget's one convention.

Budget's convention (``TokenUsage``): ``input_tokens`` is *all* input tokens,
cache reads and cache writes included; ``cached_input_tokens`` and
``cache_write_tokens`` say how many of them were cache reads and writes;
``reasoning_tokens`` are part of ``output_tokens``. OpenAI (and genai-prices)
report this way already; Anthropic reports cache reads and writes *apart from*
``input_tokens``, so they are added in here.
"""

from __future__ import annotations

from typing import Any

from budget.domain.prices import TokenUsage
from budget.errors import ValidationError


def from_anthropic(
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_input_tokens: int | None = 0,
    cache_creation_input_tokens: int | None = 0,
    cache_creation: Any = None,
) -> TokenUsage:
    """Anthropic's ``usage`` block as a TokenUsage.

    Anthropic's ``input_tokens`` excludes cache reads (``cache_read_input_tokens``)
    and cache writes (``cache_creation_input_tokens``); Budget's ``input_tokens``
    includes them, so the result's input is the sum of all three. Thinking
    tokens are already inside Anthropic's ``output_tokens`` and are not reported
    apart, so ``reasoning_tokens`` stays 0. ``None`` counts as 0.

    ``cache_creation`` (a dict or object, when the API sends it) splits the
    writes by duration: its ``ephemeral_1h_input_tokens`` become
    ``cache_write_1h_tokens``; without it every write is a 5-minute write.
    """
    uncached = _count("input_tokens", input_tokens)
    cached = _count("cache_read_input_tokens", cache_read_input_tokens)
    written = _count("cache_creation_input_tokens", cache_creation_input_tokens)
    hour = _count("cache_creation.ephemeral_1h_input_tokens", _field(cache_creation))
    if hour > written:
        raise ValidationError(
            "cache_creation.ephemeral_1h_input_tokens",
            hour,
            f"exceeds cache_creation_input_tokens ({written}), which includes them",
        )
    return TokenUsage(
        input_tokens=uncached + cached + written,
        output_tokens=_count("output_tokens", output_tokens),
        cached_input_tokens=cached,
        cache_write_tokens=written,
        cache_write_1h_tokens=hour,
    )


def _field(cache_creation: Any) -> int | None:
    """``ephemeral_1h_input_tokens`` of Anthropic's ``cache_creation`` (dict or object)."""
    if cache_creation is None:
        return None
    if isinstance(cache_creation, dict):
        return cache_creation.get("ephemeral_1h_input_tokens")
    return getattr(cache_creation, "ephemeral_1h_input_tokens", None)


def from_openai(
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_tokens: int | None = 0,
    reasoning_tokens: int | None = 0,
) -> TokenUsage:
    """OpenAI's ``usage`` block as a TokenUsage (no arithmetic needed).

    OpenAI's ``prompt_tokens`` already includes ``prompt_tokens_details.cached_tokens``
    and ``completion_tokens`` already includes
    ``completion_tokens_details.reasoning_tokens``: the same convention as
    Budget's. The counts are only checked to be consistent. ``None`` counts as 0.
    """
    prompt = _count("prompt_tokens", prompt_tokens)
    completion = _count("completion_tokens", completion_tokens)
    cached = _count("cached_tokens", cached_tokens)
    reasoning = _count("reasoning_tokens", reasoning_tokens)
    if cached > prompt:
        raise ValidationError(
            "cached_tokens", cached, f"exceeds prompt_tokens ({prompt}), which includes them"
        )
    if reasoning > completion:
        raise ValidationError(
            "reasoning_tokens",
            reasoning,
            f"exceeds completion_tokens ({completion}), which includes them",
        )
    return TokenUsage(
        input_tokens=prompt,
        output_tokens=completion,
        cached_input_tokens=cached,
        reasoning_tokens=reasoning,
    )


def _count(field: str, value: int | None) -> int:
    """A token count: None is 0; negatives, floats and bools are refused."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, value, "must be a non-negative integer")
    if value < 0:
        raise ValidationError(field, value, "must not be negative")
    return value
