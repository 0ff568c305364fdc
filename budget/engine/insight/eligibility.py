"""Which models are sensible to suggest: the model-facts rules recommend and route share.

A candidate is refused, with the reason said, when it is

* retired (its shutdown date has passed), deprecated (a shutdown is
  announced), or of unknown lifecycle (no source that tracks the models still
  offered lists it) — unless ``include`` names that state;
* a base model or a fine-tuned one — unless ``include`` names ``base`` /
  ``fine_tuned``;
* of another kind than the current model (a chat model is never replaced by an
  embedding, image, audio, realtime or moderation model);
* too small for the request: input + maximum output over its context window,
  the input over its input cap, the output over its output cap; when the
  request's size is given explicitly, a model whose window is unknown is
  refused too (it cannot be shown to hold it);
* without a required capability, or of a tier above the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from budget.domain.enums import Tier
from budget.domain.facts import CURRENT, ModelFacts
from budget.errors import ValidationError

#: What ``include`` may let through that is refused by default.
INCLUDE = ("deprecated", "retired", "unknown", "base", "fine_tuned")
TIER_ORDER = (Tier.LOCAL_LIGHTWEIGHT, Tier.LOCAL_MIDWEIGHT, Tier.REMOTE_HEAVYWEIGHT)


@dataclass(frozen=True)
class Constraints:
    """What a candidate must satisfy besides its price.

    ``input_tokens``/``output_tokens`` are the request to hold; ``explicit``
    says they were given by the caller (a route request) rather than averaged
    from usage, so that an unknown window does not qualify."""

    same_provider: bool = False
    min_context_window: int | None = None
    capabilities: frozenset[str] = frozenset()
    max_tier: Tier | None = None
    include: frozenset[str] = frozenset()
    input_tokens: int = 0
    output_tokens: int = 0
    explicit: bool = False


def parse_include(values: Any) -> frozenset[str]:
    """Validated ``include`` names (a list, or a comma-separated string)."""
    if values is None:
        return frozenset()
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValidationError("include", values, "must be a list of " + ", ".join(INCLUDE))
    out = set()
    for item in items:
        name = item.strip().lower() if isinstance(item, str) else item
        if name and name not in INCLUDE:
            raise ValidationError("include", item, "must be one of " + ", ".join(INCLUDE))
        if name:
            out.add(name)
    return frozenset(out)


def mode_of(facts: ModelFacts | None) -> str:
    """The kind of model (chat when the sources and the id say nothing)."""
    return "chat" if facts is None or facts.mode is None else facts.mode


def lifecycle_refusal(facts: ModelFacts | None, include: frozenset[str], today: date) -> str | None:
    """Why the model's lifecycle or kind keeps it out, or None (coarse, so that
    refusals can be counted by reason)."""
    state = "unknown" if facts is None else facts.lifecycle(today)
    if state != CURRENT and state not in include:
        return "lifecycle unknown" if state == "unknown" else state
    if facts is not None and facts.base and "base" not in include:
        return "base model"
    if facts is not None and facts.fine_tuned and "fine_tuned" not in include:
        return "fine-tuned"
    return None


def size_refusal(facts: ModelFacts | None, c: Constraints) -> str | None:
    """Why the model cannot hold the request (or the minimum window), or None."""
    window = None if facts is None else facts.window
    if c.min_context_window is not None and (window or 0) < c.min_context_window:
        return f"context window under {c.min_context_window:,} tokens"
    need = c.input_tokens + c.output_tokens
    if not need:
        return None
    holds = None if facts is None else facts.holds(c.input_tokens, c.output_tokens)
    if holds is False or (holds is None and c.explicit):
        return f"context window cannot hold {need:,} tokens"
    return None


def tier_refusal(tier: Tier, c: Constraints) -> str | None:
    """Why the model's tier is above the maximum, or None."""
    if c.max_tier is not None and TIER_ORDER.index(tier) > TIER_ORDER.index(c.max_tier):
        return f"tier above {c.max_tier.value}"
    return None


def fit_reasons(facts: ModelFacts | None, c: Constraints, today: date) -> list[str]:
    """What a qualifying model's facts say in its favour."""
    out = []
    if facts is not None:
        out.append(facts.lifecycle(today) + (f" {facts.mode} model" if facts.mode else " model"))
    window = None if facts is None else facts.window
    need = max(c.min_context_window or 0, c.input_tokens + c.output_tokens)
    if window and need:
        out.append(f"context window {window:,} >= {need:,} tokens")
    elif window:
        out.append(f"context window {window:,} tokens")
    return out
