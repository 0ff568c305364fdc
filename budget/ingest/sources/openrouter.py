"""OpenRouter's ``/api/v1/models``: every model it routes, with its price.

``{"data": [{"id": "anthropic/claude-sonnet-4.5", "name", "context_length",
"pricing": {"prompt", "completion", "input_cache_read", "input_cache_write",
"internal_reasoning", "request"}}]}``: USD per *token* as decimal strings
(``"0.000003"``), read exactly. ``"-1"`` means a dynamic price (a router such
as ``openrouter/auto``) and the row is skipped; ``:free`` variants are a free
tier, not the model's price, and are skipped too. A ``0`` cache or reasoning
price means "not priced apart", so those tokens fall back to the input or
output rate rather than becoming free.

Every row is OpenRouter's own price, filed under platform ``openrouter`` with
the full id (``openai/gpt-4o``: the author is part of the id). OpenRouter
re-sells at the author's list price for first-party authors (``anthropic/``,
``openai/``, ``google/``... listed in ``aliases.json``), so those rows are
also filed under the author as provider, where they can confirm its prices.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from budget.ingest.errors import SourceError
from budget.ingest.http import HttpFetcher
from budget.ingest.source import Amount, PriceSource, make_rates, per_million, tidy
from budget.ingest.sources.litellm import content_version
from budget.pricing.normalize import split_author
from budget.pricing.refresh import SourceRecord, SourceResult

KIND = "openrouter"
URL = "https://openrouter.ai/api/v1/models"
DYNAMIC = Decimal(-1)
FREE_SUFFIX = ":free"


class OpenRouterPricing(BaseModel):
    """A model's ``pricing`` object (USD per token, per request for ``request``)."""

    prompt: Amount
    completion: Amount
    input_cache_read: Amount | None = None
    input_cache_write: Amount | None = None
    internal_reasoning: Amount | None = None
    request: Amount | None = None


class OpenRouterModel(BaseModel):
    """One entry of ``data``."""

    id: str
    name: str | None = None
    context_length: int | None = None
    pricing: OpenRouterPricing


def parse_document(body: bytes | str, source: str, version: str | None = None) -> SourceResult:
    """Every usable model of a ``/models`` answer; SourceError if it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{source}: malformed document: {exc}") from None
    rows = document.get("data") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise SourceError(f"{source}: malformed document: no 'data' list")
    result = SourceResult(source, version=version)
    for index, entry in enumerate(rows):
        _read_row(index, entry, result)
    return result


def _read_row(index: int, entry: Any, out: SourceResult) -> None:
    label = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
    try:
        row = OpenRouterModel.model_validate(entry)
    except ValidationError:
        out.skip("invalid row", label)
        return
    if row.id.endswith(FREE_SUFFIX):
        out.skip("free variant", row.id)
        return
    if row.id.startswith("~"):
        out.skip("floating alias", row.id)
        return
    pricing = row.pricing
    values = [v for v in pricing.model_dump().values() if v is not None]
    if any(v == DYNAMIC for v in values):
        out.skip("dynamic price", row.id)
        return
    if any(v < 0 for v in values):
        out.skip("negative price", row.id)
        return
    rates = make_rates(_kinds(pricing), per_request=_positive(pricing.request, tidy))
    own = row.id.strip().lower()
    author = split_author(row.id)
    for provider, model in dict.fromkeys((("openrouter", own), author)):
        out.records.append(
            SourceRecord(
                provider=provider,
                model=model,
                raw_id=row.id,
                rates=rates,
                name=row.name,
                context_window=row.context_length,
            )
        )


def _kinds(pricing: OpenRouterPricing) -> dict[str, Decimal | None]:
    def rate(value: Decimal | None) -> Decimal | None:
        return _positive(value, lambda v: per_million(v, Decimal(1)))

    return {
        "input": per_million(pricing.prompt, Decimal(1)),
        "output": per_million(pricing.completion, Decimal(1)),
        "cached_input": rate(pricing.input_cache_read),
        "cache_write": rate(pricing.input_cache_write),
        "reasoning": rate(pricing.internal_reasoning),
    }


def _positive(value: Decimal | None, convert: Any) -> Decimal | None:
    """``convert(value)`` for a positive value; None for a missing or zero one."""
    return convert(value) if value is not None and value > 0 else None


class OpenRouterSource(PriceSource):
    """OpenRouter's model list (``url`` from the settings, else the public API)."""

    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        document = http.get(self.spec.url or URL)
        result = parse_document(document.body, self.name, content_version(document.body))
        result.not_modified = document.not_modified
        return result
