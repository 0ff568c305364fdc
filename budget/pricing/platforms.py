"""Platforms: who bills a call, the ids users send them, and their declared fallbacks.

A price belongs to a (platform, model). The platform is the provider or the
gateway that bills the call: ``openai``, ``azure``, ``anthropic``, ``aws``
(Amazon Bedrock), ``vertex_ai`` (Google Cloud Vertex AI), ``google`` (the
Gemini API), ``openrouter``... Platforms that sell the same model at different
prices are never merged: Vertex AI is not the Gemini API.

Resolution (see :class:`Resolution`): the platform's own price for the model,
under the ids of :func:`candidate_ids`; else the price of a platform that the
platform declares as its fallback (``azure`` -> ``openai`` ...), one step
only; else none. Nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from budget.domain.prices import Price

#: Other names callers use for a platform -> the catalog's platform id.
PLATFORM_ALIASES: Mapping[str, str] = {
    "gemini": "google",
    "google_ai_studio": "google",
    "vertex": "vertex_ai",
    "vertex_ai_beta": "vertex_ai",
    "google-vertex": "vertex_ai",
    "google_vertex": "vertex_ai",
    "xai": "x-ai",
    "mistralai": "mistral",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "amazon": "aws",
    "azure_openai": "azure",
    "azure_ai": "azure",
}

#: Platform -> the platforms whose prices it bills when it has none of its own,
#: in order. From genai-prices' ``fallback_model_providers``: Azure resells
#: OpenAI's (and others') models at their prices; genai-prices' ``google``
#: provider falls back to Anthropic for Claude, which Google sells on Vertex AI
#: only (the Gemini API serves no Claude model), so the fallback is Vertex's.
PLATFORM_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "azure": ("openai", "anthropic", "deepseek", "x-ai", "moonshotai"),
    "vertex_ai": ("anthropic",),
}

#: Vertex resource names: ``projects/P/locations/L/publishers/X/models/M``,
#: ``publishers/X/models/M``; the Gemini API's ``models/M``.
_PROJECT_PATH = re.compile(r"^projects/[^/]+/locations/[^/]+/")
_PUBLISHER_PATH = re.compile(r"^publishers/[^/]+/models/(?P<model>[^/]+)$")
_MODELS_PATH = re.compile(r"^models/(?P<model>[^/]+)$")
#: A Vertex version pin: ``claude-sonnet-4-5@20250929``, ``gemini-1.5-pro@002``.
_VERTEX_VERSION = re.compile(r"^(?P<name>[a-z0-9._-]+)@[a-z0-9._-]+$")

EXACT = "exact"
MATCH = "match"
OVERRIDE = "override"
FALLBACK = "fallback"
NONE = "none"


def normalize_platform(provider: str) -> str:
    """Lowercase, strip, and map an alias to the catalog's platform id."""
    name = provider.strip().lower()
    return PLATFORM_ALIASES.get(name, name)


def fallbacks(platform: str) -> tuple[str, ...]:
    """The platforms ``platform`` declares as its fallback, in order."""
    return PLATFORM_FALLBACKS.get(platform, ())


def candidate_ids(platform: str, model: str) -> list[str]:
    """The ids a model is looked up under at ``platform``, most literal first.

    The id as sent (``perplexity/sonar`` is its own model); without a leading
    ``name/`` that names this platform or an alias of it (``gemini/``,
    ``azure/``, ``bedrock/``); a resource name reduced to the model
    (``projects/p/locations/l/publishers/google/models/gemini-2.5-pro``,
    ``models/gemini-2.5-pro``); on Vertex AI, without the ``@version`` pin
    (``claude-sonnet-4-5@20250929`` is version 20250929 of
    ``claude-sonnet-4-5``, priced as that model). Under ``openrouter`` the
    first segment is the model's author (``openai/gpt-4o``) and is kept.
    """
    full = model.strip().lower()
    ids = [full]
    head, slash, rest = full.partition("/")
    if slash and rest and normalize_platform(head) == platform:
        ids.append(rest)
    bare = ids[-1]
    resource = _PROJECT_PATH.sub("", bare)
    found = _PUBLISHER_PATH.match(resource) or _MODELS_PATH.match(resource)
    if found:
        ids.append(found["model"])
    if platform == "vertex_ai":
        pinned = _VERTEX_VERSION.match(ids[-1])
        if pinned:
            ids.append(pinned["name"])
    return [i for i in dict.fromkeys(ids) if i]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which price a (platform, model) resolves to, and by which rule.

    ``rule``: ``override`` (a manual price), ``exact`` (the platform's row for
    the id), ``match`` (a row of the platform whose match rules take the id),
    ``fallback`` (a row of ``via``, a platform the asked one declares as its
    fallback) or ``none``. ``tried`` lists ``platform/id`` looked for, in order;
    ``platform_known`` is False when the catalog has no price at the platform.
    """

    platform: str
    model: str
    price: Price | None
    rule: str
    via: str | None = None
    tried: tuple[str, ...] = field(default=())
    platform_known: bool = True

    @property
    def priced(self) -> bool:
        return self.price is not None

    def describe(self) -> str:
        """One sentence: where the price comes from, or what was looked for."""
        price = self.price
        if price is None:
            return self.hint()
        if self.rule == FALLBACK:
            return (
                f"priced from {self.via}'s {price.model} via {self.platform}'s declared "
                f"fallback to {self.via} ({self.platform} has no price of its own for "
                f"{self.model!r})"
            )
        how = {
            OVERRIDE: "a manual override",
            EXACT: "its own row",
            MATCH: "the match rules of its row",
        }[self.rule]
        return f"priced from {self.platform}'s {price.model} ({how})"

    def hint(self) -> str:
        """Why a model is unpriced: the platform/model looked for and the fallbacks tried."""
        own = [t for t in self.tried if t.startswith(f"{self.platform}/")]
        text = f"no price for model {self.model!r} at platform {self.platform!r}: looked for "
        text += ", ".join(own or [f"{self.platform}/{self.model}"])
        if not self.platform_known:
            text += " (the catalog has no prices for this platform)"
        declared = fallbacks(self.platform)
        if not declared:
            return text + f"; {self.platform} declares no fallback platform"
        others = [t for t in self.tried if not t.startswith(f"{self.platform}/")]
        return text + "; then its declared fallbacks: " + ", ".join(others)
