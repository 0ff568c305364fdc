"""Model ids from price sources, normalised so that the same model meets itself.

Sources name models inconsistently: ``gemini/gemini-2.5-pro``,
``us.anthropic.claude-3-5-sonnet-20241022-v2:0``, ``claude-3-5-sonnet-v2@20241022``,
``anthropic/claude-sonnet-4.5``, ``meta-llama/llama-3.3-70b-instruct:free``.
Normalisation keeps the provider apart from the model, then, on the model id:

* lowercases and strips it;
* drops the suffixes listed in ``data/aliases.json`` (``:free``) and a Vertex
  ``@version`` suffix;
* drops leading ``name/`` segments that name the provider itself (or one of its
  aliases) or a gateway (``openrouter/``); an AWS region (``us-gov-east-1/``)
  is kept, because a region can have its own price (rows of different regions
  stay apart instead of the first one seen winning);
* maps the id through the explicit alias table of ``data/aliases.json``.

A Bedrock cross-region inference prefix (``us.``, ``eu.``, ``apac.``,
``global.`` ...) is kept, because its price can differ (geographic profiles
cost more than in-region calls for recent models); :func:`fallback_ids` gives
the id without it, which the catalog is asked for only when it does not know
the prefixed id.

Ids are compared by :func:`model_key`, which aligns version dots and dashes
(``claude-3.5-sonnet`` and ``claude-3-5-sonnet`` have the same key). Nothing is
fuzzy-matched: an id either maps by these rules or is reported as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from budget.pricing.platforms import normalize_platform

ALIASES_FILE = "data/aliases.json"

_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
_VERTEX_SUFFIX = re.compile(r"@[a-z0-9._-]+$")
_BEDROCK_PROFILE = re.compile(r"^(?:us|eu|apac|au|jp|ca|global|us-gov)\.(?=[a-z0-9-]+\.)")


@dataclass(frozen=True)
class Aliases:
    """The contents of ``data/aliases.json``, ready to use."""

    providers: Mapping[str, str]
    provider_prefixes: Mapping[str, str]
    routing_prefixes: frozenset[str]
    strip_suffixes: tuple[str, ...]
    first_party: frozenset[str]
    models: Mapping[str, Mapping[str, str]]
    skip: Mapping[str, frozenset[str]]


@cache
def aliases() -> Aliases:
    """The shipped alias table (read once per process)."""
    text = files("budget.pricing").joinpath(ALIASES_FILE).read_text(encoding="utf-8")
    return parse_aliases(json.loads(text))


def parse_aliases(doc: Mapping[str, Any]) -> Aliases:
    """An :class:`Aliases` from the JSON document (keys compared lowercased)."""
    models = {
        provider.lower(): {model_key(k): v.lower() for k, v in table.items()}
        for provider, table in doc.get("models", {}).items()
    }
    return Aliases(
        providers={k.lower(): v.lower() for k, v in doc.get("providers", {}).items()},
        provider_prefixes={
            k.lower(): v.lower() for k, v in doc.get("provider_prefixes", {}).items()
        },
        routing_prefixes=frozenset(p.lower() for p in doc.get("routing_prefixes", ())),
        strip_suffixes=tuple(s.lower() for s in doc.get("strip_suffixes", ())),
        first_party=frozenset(p.lower() for p in doc.get("first_party", ())),
        models=models,
        skip={k: frozenset(model_key(i) for i in v) for k, v in doc.get("skip", {}).items()},
    )


def model_key(model: str) -> str:
    """The comparison key of a model id: lowercased, version dots as dashes."""
    return _VERSION_DOT.sub("-", model.strip().lower())


def normalize_provider(provider: str, table: Aliases | None = None) -> str:
    """A provider name as a source or an SDK spells it, as Budget's provider id
    (``together_ai`` -> ``together``): the alias table of ``data/aliases.json``
    first, then the catalog's platform aliases
    (:func:`~budget.pricing.platforms.normalize_platform`, which alone is what
    a catalog lookup applies)."""
    table = table or aliases()
    name = provider.strip().lower()
    if name in table.providers:
        return table.providers[name]
    for prefix, target in table.provider_prefixes.items():
        if name.startswith(prefix):
            return target
    return normalize_platform(name)


def normalize_model(provider: str, model: str, table: Aliases | None = None) -> str:
    """A model id without routing prefixes, suffixes and region markers, aliased.

    ``provider`` must already be normalised (:func:`normalize_provider`).
    """
    table = table or aliases()
    model_id = _strip_suffixes(model.strip().lower(), table)
    model_id = _strip_prefixes(provider, model_id, table)
    return table.models.get(provider, {}).get(model_key(model_id), model_id)


def fallback_ids(provider: str, model: str) -> tuple[str, ...]:
    """Other ids to look a normalised model up under, in order (AWS: without
    a cross-region inference prefix)."""
    if provider == "aws":
        bare = _BEDROCK_PROFILE.sub("", model)
        if bare != model:
            return (bare,)
    return ()


def is_skipped(source: str, model: str, table: Aliases | None = None) -> bool:
    """True when the alias table says this id of this source is not a standard price."""
    table = table or aliases()
    return model_key(model) in table.skip.get(source, frozenset())


def split_author(model: str, table: Aliases | None = None) -> tuple[str, str]:
    """The first-party ``(provider, model)`` an OpenRouter ``author/model`` id
    is evidence for, else ``("openrouter", id)``.

    A first-party author (one that sells its own models at the price OpenRouter
    lists) becomes the provider; other authors' models stay under ``openrouter``
    with the full id. OpenRouter's own price is always ``("openrouter", id)``.
    """
    table = table or aliases()
    full = _strip_suffixes(model.strip().lower(), table)
    author, slash, rest = full.partition("/")
    if slash and rest and author in table.first_party:
        provider = normalize_provider(author, table)
        return provider, normalize_model(provider, rest, table)
    return "openrouter", full


def _strip_suffixes(model_id: str, table: Aliases) -> str:
    for suffix in table.strip_suffixes:
        if model_id.endswith(suffix):
            model_id = model_id[: -len(suffix)]
    return _VERTEX_SUFFIX.sub("", model_id)


def _strip_prefixes(provider: str, model_id: str, table: Aliases) -> str:
    while True:
        head, slash, rest = model_id.partition("/")
        if not (slash and rest):
            return model_id
        droppable = head in table.routing_prefixes or normalize_provider(head, table) == provider
        if not droppable:
            return model_id
        model_id = rest
