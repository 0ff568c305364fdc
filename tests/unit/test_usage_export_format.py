"""The export's CSV and JSON lines: exact money, stable documented columns."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from budget.api.usage_export import CSV_COLUMNS, export_chunks
from budget.domain.models import RequestAttributes, UsageRecord

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def record(i: int, cost: Decimal | None, **more) -> UsageRecord:
    fields = {
        "usage_id": f"use_{i:024x}",
        "request_id": f"r-{i}",
        "allocation_id": None,
        "context_id": "ctx, with a comma",
        "attributes": RequestAttributes(
            provider="openai", model="gpt-4o", user="alice", tags=frozenset({"b", "a"})
        ),
        "input_tokens": 1000,
        "output_tokens": 10,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost": cost,
        "cost_breakdown": None,
        "priced": cost is not None,
        "price_id": 7 if cost is not None else None,
        "latency_ms": None,
        "metadata": {"note": 'a "quote"\nand a newline'},
        "occurred_at": AT,
        "recorded_at": AT,
        **more,
    }
    return UsageRecord(**fields)


RECORDS = [
    record(1, Decimal("0.000000001")),
    record(2, None),
    record(3, Decimal("-1234567.123456789"), kind="void", corrects_id="use_x", reason="twice"),
]


def test_csv_keeps_money_exact_and_cells_quoted():
    rows = list(csv.DictReader(io.StringIO("".join(export_chunks(RECORDS, "csv")))))
    assert [r["cost"] for r in rows] == ["0.000000001", "", "-1234567.123456789"]
    assert [r["priced"] for r in rows] == ["true", "false", "true"]
    first = rows[0]
    assert first["tags"] == "a;b" and first["user"] == "alice"
    assert first["context_id"] == "ctx, with a comma"
    assert json.loads(first["metadata"]) == {"note": 'a "quote"\nand a newline'}
    assert first["occurred_at"] == "2026-11-29T12:00:00Z"
    assert first["total_tokens"] == "1010" and first["allocation_id"] == ""
    assert (rows[2]["kind"], rows[2]["corrects_id"], rows[2]["reason"]) == (
        "void",
        "use_x",
        "twice",
    )


def test_jsonl_is_one_api_usage_object_a_line():
    lines = "".join(export_chunks(RECORDS, "jsonl")).splitlines()
    assert len(lines) == 3
    objects = [json.loads(line) for line in lines]
    assert [o["cost"] for o in objects] == ["0.000000001", None, "-1234567.123456789"]
    assert objects[0]["attributes"]["tags"] == ["a", "b"]


def test_an_empty_export_is_a_header_or_nothing():
    assert "".join(export_chunks([], "csv")) == ",".join(CSV_COLUMNS) + "\n"
    assert "".join(export_chunks([], "jsonl")) == ""


def test_many_records_come_in_chunks():
    chunks = list(export_chunks([record(i, Decimal(1)) for i in range(450)], "jsonl"))
    assert len(chunks) == 3 and sum(c.count("\n") for c in chunks) == 450


def test_the_documented_columns_are_the_columns_in_their_order():
    docs = (ROOT / "docs" / "cli.md").read_text()
    listed = re.search(r"^`usage_id`, .*?`metadata`", docs, re.M | re.S)
    assert listed, "docs/cli.md lists the CSV columns"
    names = re.findall(r"`(\w+)`(?:\s*\([^)]*\))?", listed.group(0))
    assert tuple(names) == CSV_COLUMNS
