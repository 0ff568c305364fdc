"""Ledger correction decisions of the engine, on a fake repository (no SQL)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fake_units import fake_context

from budget.domain.prices import COST_PARTS
from budget.engine import corrections
from budget.engine.corrections import build_adjust, build_void
from budget.errors import Conflict, IdempotencyConflict, NotFound, ValidationError


def ledger_row(usage_id: str, **columns: Any) -> SimpleNamespace:
    """A ledger row as the repository hands it out (columns as attributes)."""
    values = dict.fromkeys(("allocation_id", "context_id", "session_id", "task_id"))
    values.update(dict.fromkeys(("component", "project", "user_id", "api_key", "tier")))
    values.update(dict.fromkeys(("task_type", "price_id", "price_source", "price_verification")))
    values.update(dict.fromkeys(("latency_ms", "recorded_at", "occurred_at", "reason")))
    values.update(dict.fromkeys(("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")))
    values.update(dict.fromkeys(f"{part}_nanos" for part in COST_PARTS))
    values.update(
        id=usage_id,
        request_id=f"req-{usage_id}",
        content_hash=None,
        provider="openai",
        model="gpt-4o",
        tags=[],
        kind="usage",
        corrects_id=None,
        priced=True,
        input_tokens=100,
        output_tokens=50,
        cost_nanos=1_000,
        metadata={},
        service_tier="standard",
        cache_write_1h_tokens=0,
    )
    values.update(columns)
    return SimpleNamespace(**values)


class FakeCorrections:
    def __init__(self, *rows: SimpleNamespace) -> None:
        self.rows = {row.id: row for row in rows}

    def row(self, usage_id: str) -> SimpleNamespace | None:
        return self.rows.get(usage_id)

    def by_request_id(self, request_id: str) -> SimpleNamespace | None:
        return next((r for r in self.rows.values() if r.request_id == request_id), None)

    def count_of(self, usage_id: str) -> int:
        return sum(1 for r in self.rows.values() if r.corrects_id == usage_id)


def ctx_with(*rows: SimpleNamespace):
    return fake_context(corrections=FakeCorrections(*rows))


def test_only_usage_records_are_corrected() -> None:
    ctx = ctx_with(ledger_row("use_1"), ledger_row("use_2", kind="void", corrects_id="use_1"))
    with pytest.raises(NotFound):
        corrections._original(ctx, build_void(usage_id="use_9", reason="typo"))
    with pytest.raises(Conflict) as err:
        corrections._original(ctx, build_void(usage_id="use_2", reason="typo"))
    assert err.value.field == "usage_id" and "correct use_1 instead" in str(err.value)
    assert corrections._original(ctx, build_void(usage_id="use_1", reason="x")).id == "use_1"


def test_an_unpriced_record_takes_no_new_cost_but_new_tokens() -> None:
    ctx = ctx_with(ledger_row("use_1", priced=False, cost_nanos=None))
    with pytest.raises(ValidationError) as err:
        corrections._original(ctx, build_adjust(usage_id="use_1", reason="r", cost="0.5"))
    assert err.value.field == "cost"
    item = build_adjust(usage_id="use_1", reason="r", output_tokens=40)
    assert corrections._original(ctx, item).id == "use_1"


def test_an_adjust_s_default_request_id_counts_the_corrections_before_it() -> None:
    ctx = ctx_with(ledger_row("use_1"), ledger_row("use_2", kind="adjust", corrects_id="use_1"))
    item = build_adjust(usage_id="use_1", reason="r", output_tokens=40)
    assert corrections._default_request_id(ctx, item).startswith("adjust:use_1:1:")
    void = build_void(usage_id="use_1", reason="r")
    assert corrections._default_request_id(ctx, void) == "void:use_1"


def test_a_request_id_names_one_correction() -> None:
    earlier = build_void(usage_id="use_1", reason="dup", request_id="fix-1")
    stored = ledger_row(
        "use_2",
        kind="void",
        corrects_id="use_1",
        request_id="fix-1",
        content_hash=earlier.content_hash,
        input_tokens=-100,
        output_tokens=-50,
        cost_nanos=-1_000,
    )
    ctx = ctx_with(ledger_row("use_1"), stored)
    again = corrections._by_request_id(ctx, "fix-1", earlier)
    assert again.usage_id == "use_2" and again.kind == "void"
    other = build_void(usage_id="use_1", reason="another reason", request_id="fix-1")
    with pytest.raises(IdempotencyConflict):
        corrections._by_request_id(ctx, "fix-1", other)
    assert corrections._by_request_id(ctx, "fix-2", earlier) is None


def test_the_change_is_what_the_new_values_add_to_what_stands() -> None:
    standing = {name: 0 for name in corrections.TOKEN_FIELDS}
    standing.update(input_tokens=100, output_tokens=50, cost_nanos=1_000)
    void = corrections._change(build_void(usage_id="u", reason="r"), standing)
    assert void["input_tokens"] == -100 and void["cost_nanos"] == -1_000
    adjust = build_adjust(usage_id="u", reason="r", output_tokens=20, cost="0.000002")
    change = corrections._change(adjust, standing)
    assert (change["output_tokens"], change["input_tokens"], change["cost_nanos"]) == (
        -30,
        0,
        1_000,
    )
