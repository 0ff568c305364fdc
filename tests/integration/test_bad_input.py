"""Invariant 9: bad input gets an error naming field and value; nothing is half-written."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select

import budget
from budget.storage import tables as t


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("budgets", t.budgets),
                ("policies", t.policies),
                ("windows", t.windows),
                ("allocations", t.allocations),
                ("usage", t.usage_records),
            )
        }
    engine.dispose()
    return out


POLICY_CASES = [
    ({"type": "hard_limit", "period": "fortnightly", "token_limit": 10}, "period", "fortnightly"),
    ({"type": "strict", "period": "daily", "token_limit": 10}, "type", "strict"),
    ({"type": "warn", "period": "daily"}, "token_limit", None),
    ({"type": "warn", "period": "daily", "token_limit": -5}, "token_limit", -5),
    ({"type": "warn", "period": "daily", "token_limit": 1.5}, "token_limit", 1.5),
    ({"type": "warn", "period": "daily", "cost_limit": 0.5}, "cost_limit", 0.5),
    ({"type": "warn", "period": "daily", "cost_limit": "-1"}, "cost_limit", "-1"),
    (
        {"type": "warn", "period": "daily", "token_limit": 10, "timezone": "Europe/Atlantis"},
        "timezone",
        "Europe/Atlantis",
    ),
    (
        {"type": "warn", "period": "daily", "token_limit": 10, "warning_thresholds": [0.5, 1.2]},
        "warning_thresholds",
        1.2,
    ),
    (
        {"type": "warn", "period": "daily", "token_limit": 10, "warning_thresholds": [0]},
        "warning_thresholds",
        0,
    ),
    (
        {
            "type": "warn",
            "period": "daily",
            "token_limit": 10,
            "starts_at": datetime(2026, 12, 1, tzinfo=UTC),
            "ends_at": datetime(2026, 11, 1, tzinfo=UTC),
        },
        "ends_at",
        None,
    ),
    ({"type": "warn", "period": "daily", "token_limit": 10, "colour": "red"}, "colour", "red"),
    (
        {"type": "warn", "period": "daily", "token_limit": 10, "tier": "galactic"},
        "tier",
        "galactic",
    ),
]


@pytest.mark.parametrize(("fields", "field", "value"), POLICY_CASES)
def test_bad_policy_names_field_and_writes_nothing(svc, db_url, fields, field, value):
    team = svc.create_budget(name="t")
    before = counts(db_url)
    with pytest.raises(budget.ValidationError) as info:
        svc.add_policy(team.budget_id, **fields)
    assert info.value.field == field
    if value is not None:
        assert repr(value) in str(info.value)
    assert counts(db_url) == before


USAGE_CASES = [
    ({"input_tokens": -1}, "input_tokens"),
    ({"output_tokens": 2.5}, "output_tokens"),
    ({"input_tokens": 10, "cached_input_tokens": 11}, "cached_input_tokens"),
    ({"output_tokens": 10, "reasoning_tokens": 11}, "reasoning_tokens"),
    ({"tier": "huge"}, "tier"),
    ({"occurred_at": "last tuesday"}, "occurred_at"),  # "yesterday" is a time now
    ({"metadata": {"x": object()}}, "metadata.x"),
    ({"metadata": {"x": ["\ud800"]}}, "metadata.x[0]"),
    ({"component": "c" * 201}, "component"),
    ({"occurred_at": "9999-12-31T23:59:59Z"}, "occurred_at"),
    ({"input_tokens": 10**15}, "input_tokens"),
]


@pytest.mark.parametrize(("fields", "field"), USAGE_CASES)
def test_bad_usage_names_field_and_writes_nothing(svc, db_url, fields, field):
    before = counts(db_url)
    args = {"provider": "openai", "model": "gpt-4o", **fields}
    with pytest.raises(budget.ValidationError) as info:
        svc.record_usage(**args)
    assert info.value.field == field
    assert counts(db_url) == before


def test_unknown_ids_are_not_found(svc):
    for call, field in (
        (lambda: svc.release("alc_nope"), "allocation_id"),
        (lambda: svc.get_budget("bud_nope"), "budget_id"),
        (lambda: svc.get_policy("pol_nope"), "policy_id"),
        (
            lambda: svc.add_policy("bud_nope", type="warn", period="daily", token_limit=1),
            "budget_id",
        ),
        (lambda: svc.record_usage(allocation_id="alc_nope", input_tokens=1), "allocation_id"),
        (lambda: svc.acknowledge_alert("alr_nope", by="me"), "alert_id"),
    ):
        with pytest.raises(budget.NotFound) as info:
            call()
        assert info.value.field == field and "nope" in str(info.value)


def test_bad_allocation_requests(svc, db_url):
    before = counts(db_url)
    for fields, field in (
        ({"priority": 0}, "priority"),
        ({"tokens": 0}, "tokens"),
        ({"input_tokens": -3}, "input_tokens"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"context_id": ""}, "context_id"),
    ):
        args = {"context_id": "c", "provider": "openai", "model": "gpt-4o", **fields}
        with pytest.raises(budget.ValidationError) as info:
            svc.allocate(**args)
        assert info.value.field == field
    assert counts(db_url) == before


def test_usage_needs_provider_and_model_without_allocation(svc):
    with pytest.raises(budget.ValidationError) as info:
        svc.record_usage(model="gpt-4o", input_tokens=1)
    assert info.value.field == "provider"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("nosuch://x", budget.ValidationError),
        ("postgresql://nobody:secret@127.0.0.1:1/x", budget.StorageError),
        ("sqlite:////proc/no-such-dir/x.db", budget.StorageError),
    ],
)
def test_open_reports_a_bad_database_in_budgets_own_terms(url, error):
    with pytest.raises(error) as info:
        budget.open(url)
    assert "secret" not in str(info.value)
