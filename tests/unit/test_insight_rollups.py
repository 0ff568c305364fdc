"""Rollup rows: what one ledger row adds to each cube, at both grains."""

from datetime import UTC, datetime

from budget.engine.insight.rollups import (
    COUNTERS,
    ROW_COLUMNS,
    Accumulator,
    epoch_hour,
    usage_rows,
)

AT = datetime(2026, 11, 29, 13, 45, tzinfo=UTC)


def ledger_row(**changes):
    row = dict(
        provider="openai",
        model="gpt-4o",
        tier="remote_heavyweight",
        component="chat",
        project="alpha",
        user_id="ana",
        api_key=None,
        task_type="chat",
        tags=["prod", "bench"],
        input_tokens=1000,
        output_tokens=200,
        cached_input_tokens=100,
        cache_write_tokens=0,
        reasoning_tokens=0,
        priced=True,
        cost_nanos=4_500_000,
        occurred_at=AT,
    )
    return {**row, **changes}


def as_dicts(rows):
    return [dict(zip(ROW_COLUMNS, r, strict=True)) for r in rows]


def test_every_cube_at_hour_and_utc_day():
    rows = as_dicts(usage_rows(ledger_row()))
    cubes = sorted({(r["cube"], r["tag"]) for r in rows})
    assert cubes == [
        ("full", ""),
        ("model", ""),
        ("tag", "bench"),
        ("tag", "prod"),
        ("user", ""),
        ("work", ""),
    ]
    hour = epoch_hour(AT)
    assert {(r["span_hours"], r["start_hour"]) for r in rows} == {(1, hour), (24, hour - 13)}
    full = next(r for r in rows if r["cube"] == "full")
    assert full["tags"] == '["bench","prod"]' and full["api_key"] == ""
    model = next(r for r in rows if r["cube"] == "model")
    assert (model["user_id"], model["component"]) == ("", "")  # not this cube's dimensions
    assert all(r["records"] == 1 and r["cost_nanos"] == 4_500_000 for r in rows)


def test_rows_come_in_key_order():
    rows = usage_rows(ledger_row())
    keys = [(r[0], r[4], r[1]) for r in rows]
    assert keys == sorted(keys)


def test_untagged_usage_has_one_untagged_tag_row():
    rows = as_dicts(usage_rows(ledger_row(tags=[])))
    assert [r["tag"] for r in rows if r["cube"] == "tag"] == ["", ""]


def test_unpriced_usage_counts_tokens_and_no_cost():
    rows = as_dicts(usage_rows(ledger_row(priced=False, cost_nanos=None)))
    assert all(not r["priced"] and r["cost_nanos"] == 0 and r["input_tokens"] == 1000 for r in rows)


def test_bulk_accumulation_equals_the_write_path_row_by_row():
    items = [ledger_row(user_id=u, input_tokens=n) for u, n in (("a", 10), ("b", 20), ("a", 30))]
    acc = Accumulator()
    for item in items:
        acc.add(item)
    expected: dict[tuple, list[int]] = {}
    for item in items:
        for row in as_dicts(usage_rows(item)):
            key = (
                row["cube"],
                row["span_hours"],
                row["start_hour"],
                row["priced"],
                row["dims_key"],
            )
            sums = expected.setdefault(key, [0] * len(COUNTERS))
            for i, name in enumerate(COUNTERS):
                sums[i] += row[name]
    got = {k: [row[c] for c in COUNTERS] for k, row in acc.rows.items()}
    assert got == expected
