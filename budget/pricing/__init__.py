"""Pricing: the cost of a call from its token usage, and the catalog of prices.

``compute_cost`` bills each token kind once at its rate; ``PriceCatalog``
finds the price of a (provider, model) at a moment; ``load_default_prices``
reads the catalog shipped with the package (built from genai-prices).
"""

from budget.pricing.catalog import PriceCatalog
from budget.pricing.cost import compute_cost
from budget.pricing.default_catalog import load_default_prices

__all__ = ["PriceCatalog", "compute_cost", "load_default_prices"]
