"""LLMPrices: llm-prices.com's ``current-v1.json`` and ``historical-v1.json`` feeds.

Both are ``{"prices": [{"id", "vendor", "name", "input", "output",
"input_cached"}, ...]}`` in USD per million tokens (JSON numbers); the
current feed adds ``updated_at``, the historical one gives every row a
``from_date`` / ``to_date`` (``null`` = open). Ids use version dots
(``claude-sonnet-4.5``); normalisation aligns them with the catalog's ids.
From the historical feed only the rows in effect at the time of the run are
used: Budget's own history starts from what it has seen.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError

from budget.ingest.errors import SourceError
from budget.ingest.http import HttpFetcher
from budget.ingest.source import Amount, PriceSource, make_rates, tidy
from budget.ingest.sources.litellm import content_version
from budget.pricing.normalize import is_skipped, normalize_model, normalize_provider
from budget.pricing.refresh import SourceRecord, SourceResult

KIND = "llm_prices"
CURRENT_URL = "https://www.llm-prices.com/current-v1.json"
HISTORICAL_URL = "https://www.llm-prices.com/historical-v1.json"
#: The name used for this data set's entries in ``aliases.json``'s ``skip``.
ALIAS_SOURCE = "llm-prices"


class LLMPricesRow(BaseModel):
    """One row of either feed."""

    id: str
    vendor: str
    name: str | None = None
    input: Amount
    output: Amount
    input_cached: Amount | None = None
    from_date: date | None = None
    to_date: date | None = None


def parse_document(
    body: bytes | str, source: str, now: datetime, version: str | None = None
) -> SourceResult:
    """The rows of a feed that are in effect at ``now``; SourceError if it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{source}: malformed document: {exc}") from None
    rows = document.get("prices") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise SourceError(f"{source}: malformed document: no 'prices' list")
    stamp = document.get("updated_at")
    result = SourceResult(source, version=str(stamp) if stamp else version)
    for index, entry in enumerate(rows):
        _read_row(index, entry, now, result)
    return result


def _read_row(index: int, entry: Any, now: datetime, out: SourceResult) -> None:
    label = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
    try:
        row = LLMPricesRow.model_validate(entry)
    except ValidationError:
        out.skip("invalid row", label)
        return
    record_from, record_to = _midnight(row.from_date), _midnight(row.to_date)
    if (record_from is not None and now < record_from) or (
        record_to is not None and now >= record_to
    ):
        out.skip("not in effect now", f"{row.id} {row.from_date}..{row.to_date}")
        return
    if is_skipped(ALIAS_SOURCE, row.id):
        out.skip("not a standard price (aliases.json)", row.id)
        return
    amounts = (row.input, row.output, row.input_cached)
    if any(v is not None and v < 0 for v in amounts):
        out.skip("negative price", row.id)
        return
    provider = normalize_provider(row.vendor)
    kinds = {"input": row.input, "output": row.output, "cached_input": row.input_cached}
    out.records.append(
        SourceRecord(
            provider=provider,
            model=normalize_model(provider, row.id),
            raw_id=f"{row.vendor}/{row.id}",
            rates=make_rates({k: None if v is None else tidy(v) for k, v in kinds.items()}),
            name=row.name,
            effective_from=record_from,
            effective_to=record_to,
        )
    )


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC)


class LLMPricesSource(PriceSource):
    """One llm-prices.com feed (``url``: the current feed unless configured)."""

    def fetch(self, http: HttpFetcher, now: datetime) -> SourceResult:
        document = http.get(self.spec.url or CURRENT_URL)
        result = parse_document(document.body, self.name, now, content_version(document.body))
        result.not_modified = document.not_modified
        return result
