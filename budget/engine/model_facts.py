"""A model's facts as one JSON-ready structure (``budget prices facts``, the REST
``/models/facts``, the MCP ``model_facts`` tool).

The facts are the shipped ones (:mod:`budget.pricing.facts`); an id the facts
do not know but a catalog price takes (``gpt-4o-2024-08-06`` under the
``gpt-4o`` row's match rules) gets the facts of that row's model; the price's
context window fills in where the facts state none, and
``Settings.model_capabilities`` wins over the sources' capabilities, as in
recommendations.
"""

from __future__ import annotations

from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.engine.context import EngineContext
from budget.engine.insight.capabilities import capabilities_of, facts_of
from budget.errors import NotFound


def model_facts(ctx: EngineContext, provider: Any, model: Any) -> dict[str, Any]:
    """What the sources state about ``provider``/``model``, with its lifecycle as of
    today; raises NotFound when neither the facts nor the catalog know the model."""
    vendor = (v.text("provider", provider, required=True, max_len=100) or "").lower()
    name = (v.text("model", model, required=True, max_len=200) or "").lower()
    now = utcnow()
    with ctx.db.read() as tx:
        ctx.refresh(tx)
    price = ctx.catalog.lookup(vendor, name, now)
    facts = facts_of(vendor, name)
    if facts is None and price is not None:
        facts = facts_of(price.provider, price.model)
    if facts is None:
        raise NotFound("model facts", "provider/model", f"{vendor}/{name}")
    out = facts.to_dict(now.date())
    if out["context_window"] is None and price is not None and price.context_window:
        out["context_window"] = price.context_window
        out["sources"] = {**out["sources"], "context_window": price.source}
    caps = capabilities_of(ctx.settings, facts.provider, facts.model)
    if caps is not None and caps != facts.capabilities:
        out["capabilities"] = sorted(caps)
        out["sources"] = {**out["sources"], "capabilities": "settings"}
    out["requested"] = {"provider": vendor, "model": name}
    out["priced_as"] = None if price is None else {"provider": price.provider, "model": price.model}
    return out
