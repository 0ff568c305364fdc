"""Invariants 2 and 3 with generated ledgers, on SQLite and on PostgreSQL.

2. Money is exact: every total is the exact Decimal sum of the records, each
   record's cost is the sum of its parts, and a catch-all policy's window
   counts exactly what the ledger holds.
3. The ledger is idempotent: a request id seen before returns the first record
   and counts nothing twice; different content under that id is refused.
Plus: a batch is all or none, and its error names the item that was wrong.

Hypothesis runs many examples against one database per test, so every example
works in its own ``project`` and compares before/after states.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import budget

HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

PRICED = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-6-sol"),  # tiered rates above 272k input tokens, a cache-write rate
    ("anthropic", "claude-3-5-haiku"),
    ("google", "gemini-2.0-flash"),
]
UNPRICED = ("acme", "nonexistent-1")
MODELS = [*PRICED, UNPRICED]
PARTS = ("input", "cached_input", "cache_write", "output", "reasoning", "request")
NANO = Decimal("0.000000001")


@st.composite
def usage_items(draw) -> dict[str, Any]:
    """One valid usage report: cached + cache-write <= input, reasoning <= output."""
    provider, model = draw(st.sampled_from(MODELS))
    input_tokens = draw(st.one_of(st.integers(0, 5_000), st.integers(0, 400_000)))
    cached = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cached))
    output_tokens = draw(st.integers(0, 60_000))
    reasoning = draw(st.integers(0, output_tokens))
    return {
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning,
    }


batches = st.lists(usage_items(), min_size=1, max_size=8)


@pytest.fixture
def ledger(svc, pinned_clock):
    """A service with one catch-all policy (no filters, limits far away)."""
    team = svc.create_budget(name="ledger")
    policy = svc.add_policy(
        team.budget_id,
        type="warn",
        period="total",
        token_limit=10**15,
        cost_limit=10**9,
        action_threshold=None,
    )
    return svc, team.budget_id, policy.policy_id


def catch_all(svc, budget_id: str, policy_id: str):
    (window,) = [w for w in svc.summary(budget_id).windows if w.policy_id == policy_id]
    return window


def state(svc, budget_id: str, policy_id: str) -> tuple:
    """Everything a write could change: ledger totals, the window, alert count."""
    window = catch_all(svc, budget_id, policy_id)
    return (
        svc.usage_totals(),
        (window.tokens_used, window.tokens_reserved, window.cost_used, window.cost_reserved),
        len(svc.list_alerts(limit=1000)),
    )


# --- invariant 2: exact money ----------------------------------------------------------


@HYPOTHESIS
@given(batch=batches)
def test_totals_are_the_exact_sum_of_the_records(ledger, batch):
    svc, budget_id, policy_id = ledger
    project = f"p-{uuid.uuid4().hex}"
    records = [svc.record_usage(project=project, **item) for item in batch]

    for record, item in zip(records, batch, strict=True):
        assert record.attributes.project == project
        assert record.total_tokens == item["input_tokens"] + item["output_tokens"]
        if (item["provider"], item["model"]) == UNPRICED:
            assert record.priced is False
            assert record.cost is None and record.cost_breakdown is None
            continue
        assert record.priced is True and record.price_id is not None
        assert isinstance(record.cost, Decimal) and record.cost >= 0
        assert record.cost == record.cost.quantize(NANO)  # whole nano-USD
        breakdown = record.cost_breakdown
        # cache_write_1h is the part of cache_write paid for 1-hour writes, not added again
        assert set(breakdown) == {*PARTS, "cache_write_1h", "total"}
        assert breakdown["cache_write_1h"] <= breakdown["cache_write"]
        assert sum((breakdown[p] for p in PARTS), Decimal(0)) == breakdown["total"] == record.cost
        estimate = svc.estimate_cost(
            provider=item["provider"],
            model=item["model"],
            input_tokens=item["input_tokens"],
            output_tokens=item["output_tokens"],
            cached_input_tokens=item["cached_input_tokens"],
            cache_write_tokens=item["cache_write_tokens"],
            reasoning_tokens=item["reasoning_tokens"],
        )
        assert estimate.cost == record.cost and estimate.price_id == record.price_id

    priced = [r for r in records if r.priced]
    expected = {
        "records": len(records),
        "tokens": sum(r.total_tokens for r in records),
        "cost": sum((r.cost for r in priced), Decimal(0)),
        "unpriced_records": len(records) - len(priced),
    }
    totals = svc.usage_totals(project=project)
    assert totals == expected
    assert isinstance(totals["cost"], Decimal)
    # The stored records add up to the same, read back one by one.
    stored = svc.list_usage(project=project, limit=1000)
    assert sorted(r.usage_id for r in stored) == sorted(r.usage_id for r in records)
    assert sum((r.cost for r in stored if r.priced), Decimal(0)) == expected["cost"]

    # The catch-all window has counted exactly the whole ledger, nothing reserved.
    everything = svc.usage_totals()
    assert svc.usage_totals(budget_id=budget_id) == everything
    window = catch_all(svc, budget_id, policy_id)
    assert window.tokens_used == everything["tokens"]
    assert window.cost_used == everything["cost"]
    assert window.tokens_reserved == 0 and window.cost_reserved == 0


@HYPOTHESIS
@given(batch=batches)
def test_a_batch_counts_the_same_as_its_records_one_by_one(ledger, batch):
    svc, budget_id, policy_id = ledger
    one, many = f"one-{uuid.uuid4().hex}", f"many-{uuid.uuid4().hex}"
    singles = [svc.record_usage(project=one, **item) for item in batch]
    together = svc.record_usage_batch([{**item, "project": many} for item in batch])
    assert [r.cost for r in together] == [r.cost for r in singles]
    assert [r.cost_breakdown for r in together] == [r.cost_breakdown for r in singles]
    single_totals = svc.usage_totals(project=one)
    assert svc.usage_totals(project=many) == single_totals
    window = catch_all(svc, budget_id, policy_id)
    assert (window.tokens_used, window.cost_used) == (
        svc.usage_totals()["tokens"],
        svc.usage_totals()["cost"],
    )


# --- invariant 3: idempotency ----------------------------------------------------------


@HYPOTHESIS
@given(item=usage_items(), replays=st.integers(1, 3), in_batch=st.booleans())
def test_a_seen_request_id_returns_the_first_record(ledger, item, replays, in_batch):
    svc, budget_id, policy_id = ledger
    request_id = f"req-{uuid.uuid4().hex}"
    first = svc.record_usage(request_id=request_id, **item)
    before = state(svc, budget_id, policy_id)
    for _ in range(replays):
        if in_batch:
            # Replayed inside a batch, next to a new record: only the new one counts.
            fresh = {**item, "request_id": f"new-{uuid.uuid4().hex}"}
            again, new = svc.record_usage_batch([{**item, "request_id": request_id}, fresh])
            assert new.usage_id != first.usage_id
        else:
            again = svc.record_usage(request_id=request_id, **item)
        assert again == first
    after = state(svc, budget_id, policy_id)
    if not in_batch:
        assert after == before
    else:
        added = replays * (item["input_tokens"] + item["output_tokens"])
        assert after[0]["records"] == before[0]["records"] + replays
        assert after[0]["tokens"] == before[0]["tokens"] + added
        assert after[1][0] == before[1][0] + added
    assert [r.usage_id for r in svc.list_usage(limit=1000) if r.request_id == request_id] == [
        first.usage_id
    ]


def _changed(item: dict[str, Any], change: str) -> dict[str, Any]:
    changed = dict(item)
    if change == "model":
        changed["provider"], changed["model"] = next(
            m for m in MODELS if m != (item["provider"], item["model"])
        )
    elif change == "metadata":
        changed["metadata"] = {"retry": True}
    elif change == "project":
        changed["project"] = "someone-else"
    else:
        changed[change] += 1  # more input or output keeps the token rules valid
    return changed


@HYPOTHESIS
@given(
    item=usage_items(),
    change=st.sampled_from(["input_tokens", "output_tokens", "model", "metadata", "project"]),
    in_batch=st.booleans(),
)
def test_a_seen_request_id_with_other_content_is_refused(ledger, item, change, in_batch):
    svc, budget_id, policy_id = ledger
    request_id = f"req-{uuid.uuid4().hex}"
    first = svc.record_usage(request_id=request_id, **item)
    before = state(svc, budget_id, policy_id)
    changed = {**_changed(item, change), "request_id": request_id}
    with pytest.raises(budget.IdempotencyConflict) as info:
        if in_batch:
            svc.record_usage_batch([{**item, "request_id": f"new-{uuid.uuid4().hex}"}, changed])
        else:
            svc.record_usage(**changed)
    assert info.value.existing_usage_id == first.usage_id
    assert info.value.field.endswith("request_id") and info.value.value == request_id
    assert state(svc, budget_id, policy_id) == before  # nothing written, not even the new one
    assert svc.get_usage(first.usage_id) == first


# --- batches: all or none -------------------------------------------------------------

#: An invalid item and the field its error must name (after ``items[i]``).
INVALID = {
    "negative input": ({"input_tokens": -1}, ".input_tokens"),
    "cached over input": ({"input_tokens": 10, "cached_input_tokens": 11}, ".cached_input_tokens"),
    "cache write over input": (
        {"input_tokens": 10, "cached_input_tokens": 5, "cache_write_tokens": 6},
        ".cached_input_tokens",
    ),
    "reasoning over output": ({"output_tokens": 3, "reasoning_tokens": 4}, ".reasoning_tokens"),
    "token count as text": ({"output_tokens": "12"}, ".output_tokens"),
    "missing model": ({"model": None}, ".model"),
    "unknown tier": ({"tier": "gigantic"}, ".tier"),
    "unknown field": ({"cost": "0.01"}, ""),
}


@HYPOTHESIS
@given(batch=batches, position=st.integers(0, 8), invalid=st.sampled_from(sorted(INVALID)))
def test_a_batch_with_one_invalid_item_writes_nothing(ledger, batch, position, invalid):
    svc, budget_id, policy_id = ledger
    project = f"p-{uuid.uuid4().hex}"
    change, suffix = INVALID[invalid]
    bad = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, **change}
    index = position % (len(batch) + 1)
    items = [{**item, "project": project} for item in batch]
    items.insert(index, bad)
    before = state(svc, budget_id, policy_id)
    with pytest.raises(budget.ValidationError) as info:
        svc.record_usage_batch(items)
    assert info.value.field == f"items[{index}]{suffix}"
    assert f"items[{index}]" in str(info.value)
    assert state(svc, budget_id, policy_id) == before
    assert svc.usage_totals(project=project)["records"] == 0
    # The valid part alone goes through.
    del items[index]
    assert len(svc.record_usage_batch(items)) == len(batch)


@pytest.mark.parametrize(
    "problem",
    ["unknown allocation", "allocation without provider", "seen request id", "request id twice"],
)
def test_a_batch_error_found_in_the_database_names_the_item(ledger, problem):
    svc, budget_id, policy_id = ledger
    good = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10}
    indices = {2}
    if problem == "unknown allocation":
        items = [good, good, {"allocation_id": "alc_doesnotexist", "input_tokens": 5}]
    elif problem == "allocation without provider":
        bare = svc.allocate(context_id="bare", tokens=100)  # names no provider or model
        items = [good, good, {"allocation_id": bare.allocation_id, "input_tokens": 5}]
    elif problem == "seen request id":
        svc.record_usage(**good, request_id="seen")
        items = [good, good, {**good, "input_tokens": 11, "request_id": "seen"}]
    else:
        items = [{**good, "request_id": "twice"}, good, {**good, "request_id": "twice"}]
        indices = {0, 2}
    before = state(svc, budget_id, policy_id)
    with pytest.raises(budget.BudgetError) as info:
        svc.record_usage_batch(items)
    assert state(svc, budget_id, policy_id) == before  # all or none holds
    assert any(info.value.field.startswith(f"items[{i}]") for i in indices), info.value.field
