"""What a model can do (tools, vision …), for recommendation and routing constraints.

The facts are the shipped model facts (:mod:`budget.pricing.facts`, from
LiteLLM's ``supports_*`` flags), with ``Settings.model_capabilities``
(``{"provider/model" or "model": [names]}``) taking precedence. A model the
sources say nothing about has *unknown* capabilities: it does not qualify when
a capability is required.
"""

from __future__ import annotations

from functools import lru_cache

from budget.domain.facts import ModelFacts
from budget.errors import ValidationError
from budget.pricing import facts as shipped_facts
from budget.pricing.facts import CAPABILITIES
from budget.settings import Settings

__all__ = ["CAPABILITIES", "capabilities_of", "facts_of", "parse_capabilities"]


def parse_capabilities(values: object) -> frozenset[str]:
    """Validated capability names (a list, or a comma-separated string)."""
    if values is None:
        return frozenset()
    items = values.split(",") if isinstance(values, str) else values
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValidationError("capabilities", values, "must be a list of capability names")
    out = set()
    for item in items:
        name = item.strip().lower() if isinstance(item, str) else item
        if not name:
            continue
        if name not in CAPABILITIES:
            raise ValidationError(
                "capabilities", item, "unknown capability; use " + ", ".join(CAPABILITIES)
            )
        out.add(name)
    return frozenset(out)


@lru_cache(maxsize=16384)
def facts_of(provider: str, model: str) -> ModelFacts | None:
    """The shipped facts of a model (None when no source and not its id says anything);
    remembered, as recommend and route ask about every model of the catalog."""
    return shipped_facts.lookup(provider, model)


def capabilities_of(settings: Settings, provider: str, model: str) -> frozenset[str] | None:
    """The model's capabilities, or None when nothing is known about them."""
    configured = settings.model_capabilities
    for key in (f"{provider}/{model}", model):
        if key in configured:
            return frozenset(c.strip().lower() for c in configured[key])
    facts = facts_of(provider, model)
    if facts is None or not (facts.listed or "capabilities" in facts.sources):
        return None
    return facts.capabilities
