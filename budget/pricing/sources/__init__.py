"""Price sources: one adapter module per source, a registry, shared HTTP fetching.

Adapters map a source's payload to :class:`~budget.pricing.sources.base.SourceRecord`
objects (USD per million tokens, Decimal). :mod:`.collect` groups them per
model, :mod:`budget.pricing.verify` checks them against each other and
:mod:`.plan` decides what a refresh writes. See ``docs/prices.md``.
"""

from budget.pricing.sources.base import (
    PriceSource,
    SourceError,
    SourceRecord,
    SourceResult,
    SourceSpec,
    SourceUnavailable,
)
from budget.pricing.sources.report import (
    PriceChange,
    PriceConflict,
    PriceSourceStatus,
    SourceReport,
    UpdateReport,
)

__all__ = [
    "PriceChange",
    "PriceConflict",
    "PriceSource",
    "PriceSourceStatus",
    "SourceError",
    "SourceRecord",
    "SourceReport",
    "SourceResult",
    "SourceSpec",
    "SourceUnavailable",
    "UpdateReport",
]
