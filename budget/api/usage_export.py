"""The ledger export's two formats, written once for the REST route and the
CLI's local backend.

- ``jsonl``: one usage record per line, exactly the REST API's usage object
  (``GET /api/v1/usage`` items).
- ``csv``: a header, then one row per record, in the columns of
  :data:`CSV_COLUMNS` (stable: new columns are only ever added at the end).
  Money is the exact decimal string (``0.0094``), never a float; ``tags`` are
  joined with ``;`` and ``metadata`` is a JSON object, as ``budget usage
  import`` reads them; an empty cell is an absent value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from budget.api.schemas_ledger import UsageOut
from budget.domain.models import UsageRecord

FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CSV_COLUMNS = (
    "usage_id",
    "kind",
    "corrects_id",
    "occurred_at",
    "recorded_at",
    "provider",
    "model",
    "tier",
    "component",
    "project",
    "user",
    "api_key",
    "task_type",
    "tags",
    "session_id",
    "task_id",
    "context_id",
    "allocation_id",
    "request_id",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
    "priced",
    "cost",
    "price_id",
    "latency_ms",
    "reason",
    "cache_write_1h_tokens",
    "service_tier",
    "price_source",
    "price_verification",
    "metadata",
)
#: Records per chunk of text handed to the stream.
CHUNK = 200


def export_chunks(records: Iterable[UsageRecord], fmt: str) -> Iterator[str]:
    """The export as text chunks (a header first for CSV), a few hundred records each."""
    if fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
    line = _csv_row if fmt == "csv" else _jsonl_row
    batch: list[str] = []
    for record in records:
        batch.append(line(record))
        if len(batch) >= CHUNK:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _jsonl_row(record: UsageRecord) -> str:
    return UsageOut.of(record).model_dump_json() + "\n"


def _csv_row(record: UsageRecord) -> str:
    out = UsageOut.of(record).model_dump(mode="json")
    flat = {**out.pop("attributes"), **out}
    flat["tags"] = ";".join(flat["tags"]) if flat.get("tags") else None
    flat["metadata"] = (
        json.dumps(flat["metadata"], ensure_ascii=False) if flat["metadata"] else None
    )
    flat["priced"] = "true" if flat["priced"] else "false"
    return _csv_line(_cell(flat.get(name)) for name in CSV_COLUMNS)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(cells))
    return buffer.getvalue()
