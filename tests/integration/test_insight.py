"""Reports, rollups and forecasts on both backends: totals equal the ledger's."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

import budget
from budget.domain.enums import AlertKind, Period
from budget.domain.periods import calendar_window

T0 = datetime(2026, 10, 23, tzinfo=UTC)  # the Berlin DST change (Oct 25) is within reach
MODELS = [
    ("openai", "gpt-4o"),
    ("azure", "gpt-4o"),  # the same model id at another platform: its own report row
    ("openai", "gpt-4o-mini"),
    ("acme", "house-1"),
]
PERIODS = {
    "hour": Period.HOURLY,
    "day": Period.DAILY,
    "week": Period.WEEKLY,
    "month": Period.MONTHLY,
}

RECORDS = st.lists(
    st.fixed_dictionaries(
        {
            "model": st.sampled_from(MODELS),
            "user": st.sampled_from(["ana", "bob", None]),
            "project": st.sampled_from(["alpha", "beta"]),
            "tags": st.sets(st.sampled_from(["x", "y"]), max_size=2),
            "minute": st.integers(0, 3 * 24 * 60 - 1),
            "input": st.integers(0, 5000),
            "output": st.integers(0, 2000),
        }
    ),
    min_size=1,
    max_size=25,
)
QUERIES = st.fixed_dictionaries(
    {
        "group_by": st.lists(
            st.sampled_from(["model", "user", "project", "provider", "tier", "tag"]),
            unique=True,
            max_size=2,
        ),
        "bucket": st.sampled_from([None, "hour", "day", "week", "month"]),
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"]),
        "start": st.integers(-60, 3 * 24 * 60),
        "length": st.integers(1, 4 * 24 * 60),
        "filter": st.sampled_from([None, ("project", "alpha"), ("tag", "x")]),
    }
)


def _group_values(record, name: str) -> list:
    a = record.attributes
    if name == "tag":
        return sorted(a.tags) or [None]
    value = {"user": a.user, "project": a.project, "model": a.model, "provider": a.provider}.get(
        name, a.tier.value if name == "tier" and a.tier else None
    )
    return [value]


def _expected(records, q, since, until):
    zone = ZoneInfo(q["timezone"])
    groups = list(q["group_by"])
    if "model" in groups and "provider" not in groups:  # a model is grouped with its provider
        groups.insert(groups.index("model"), "provider")
    rows: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0])
    total = [0, 0, Decimal(0), 0]
    for rec in records:
        if not since <= rec.occurred_at < until:
            continue
        kind, value = q["filter"] or (None, None)
        if kind == "project" and rec.attributes.project != value:
            continue
        if kind == "tag" and value not in rec.attributes.tags:
            continue
        start = None
        if q["bucket"]:
            start = max(
                calendar_window(PERIODS[q["bucket"]], zone, rec.occurred_at).starts_at, since
            )
        figures = (1, rec.total_tokens, rec.cost or Decimal(0), 0 if rec.priced else 1)
        for target in [total] + [
            rows[(start, key)]
            for key in itertools.product(*(_group_values(rec, g) for g in groups))
        ]:
            for i, x in enumerate(figures):
                target[i] += x
    return dict(rows), total


def _figures(usage) -> list:
    return [usage.records, usage.total_tokens, usage.cost, usage.unpriced_records]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=RECORDS, q=QUERIES)
def test_any_grouping_sums_to_the_ledger(svc, records, q):
    # Each example gets its own stretch of time, so earlier examples' records stay out.
    base = T0 + timedelta(days=40 * next(_EXAMPLE))
    written = svc.record_usage_batch(
        [
            {
                "provider": r["model"][0],
                "model": r["model"][1],
                "user": r["user"],
                "project": r["project"],
                "tags": sorted(r["tags"]),
                "input_tokens": r["input"],
                "output_tokens": r["output"],
                "occurred_at": base + timedelta(minutes=r["minute"]),
            }
            for r in records
        ]
    )
    since = base + timedelta(minutes=q["start"])
    until = since + timedelta(minutes=q["length"])
    filters = {}
    if q["filter"]:
        filters = {"project": "alpha"} if q["filter"][0] == "project" else {"tag": "x"}
    try:
        report = svc.usage_report(
            since=since,
            until=until,
            group_by=q["group_by"],
            bucket=q["bucket"],
            timezone=q["timezone"],
            **filters,
        )
    except budget.ValidationError as refused:  # hour buckets in half-hour zones over long ranges
        assert refused.field == "timezone"
        return
    rows, total = _expected(written, q, since, until)
    assert _figures(report.total) == total
    got = {(r.bucket_start, tuple(r.group.values())): _figures(r.usage) for r in report.rows}
    assert got == rows
    if "tag" not in q["group_by"]:  # attributes partition the usage: rows add up to the total
        summed = [sum(x) for x in zip(*got.values(), strict=True)] if got else [0, 0, 0, 0]
        assert summed == _figures(report.total)
    if not filters:
        ledger = svc.usage_totals(since=since, until=until)
        assert (report.total.records, report.total.total_tokens) == (
            ledger["records"],
            ledger["tokens"],
        )
        assert report.total.cost == ledger["cost"]


_EXAMPLE = itertools.count()


def _record(svc, at, model=("openai", "gpt-4o"), **attrs):
    provider, name = model
    return svc.record_usage(
        provider=provider,
        model=name,
        input_tokens=attrs.pop("input_tokens", 10_000),
        output_tokens=attrs.pop("output_tokens", 2_500),
        occurred_at=at,
        **attrs,
    )


def test_unpriced_usage_is_shown_apart(svc):
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    priced = _record(svc, at)
    _record(svc, at, model=("acme", "house-1"))
    _record(svc, at + timedelta(hours=1), model=("acme", "house-1"))
    report = svc.usage_report(since=at, until=at + timedelta(days=1), group_by=["model"])
    by_model = {r.group["model"]: r.usage for r in report.rows}
    assert by_model["house-1"].cost == 0 and by_model["house-1"].unpriced_records == 2
    assert by_model["house-1"].records == 2 and by_model["house-1"].unpriced_tokens == 25_000
    assert report.total.cost == priced.cost and report.total.unpriced_records == 2
    assert [(u.provider, u.model, u.records) for u in report.unpriced] == [("acme", "house-1", 2)]
    assert report.to_dict()["total"]["cost"] == format(priced.cost, "f")
    csv_lines = report.to_csv().splitlines()
    assert csv_lines[0].startswith("bucket_start,bucket_end,provider,model,records")
    assert len(csv_lines) == 3


def test_group_by_model_keeps_platforms_apart(svc):
    at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    _record(svc, at)
    _record(svc, at, model=("azure", "gpt-4o"))
    _record(svc, at + timedelta(hours=2), model=("azure", "gpt-4o"), input_tokens=4_000)
    since, until = at, at + timedelta(days=1)
    report = svc.usage_report(since=since, until=until, group_by="model")
    assert report.group_by == ("provider", "model")
    rows = {(r.group["provider"], r.group["model"]): r.usage for r in report.rows}
    assert set(rows) == {("openai", "gpt-4o"), ("azure", "gpt-4o")}
    assert (rows["openai", "gpt-4o"].records, rows["azure", "gpt-4o"].records) == (1, 2)
    assert rows["azure", "gpt-4o"].unpriced_records == 0  # priced by azure's fallback to openai
    ledger = svc.usage_totals(since=since, until=until)
    assert report.total.records == ledger["records"] == 3
    assert report.total.cost == ledger["cost"] == sum(u.cost for u in rows.values())
    assert report.source["cube"] == "model" and report.source["ledger_pieces"] == 0


def test_day_buckets_follow_the_timezone_and_dst(svc):
    berlin = [
        datetime(2026, 10, 24, 22, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 22, 30, tzinfo=UTC),
    ]
    for at in [*berlin, datetime(2026, 10, 25, 23, 30, tzinfo=UTC)]:
        _record(svc, at)
    report = svc.usage_report(
        since=datetime(2026, 10, 24, tzinfo=UTC),
        until=datetime(2026, 10, 27, tzinfo=UTC),
        group_by=[],
        bucket="day",
        timezone="Europe/Berlin",
    )
    days = [(r.bucket_start, r.bucket_end, r.usage.records) for r in report.rows]
    assert days[0][2] == 2 and days[0][1] - days[0][0] == timedelta(hours=25)  # Oct 25, 25 h
    assert days[0][0] == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert days[1][2] == 1 and report.source["ledger_pieces"] == 0


def test_half_hour_zones_split_the_hour_at_local_midnight(svc):
    for minute in (20, 40):  # 23:50 and 00:10 in India
        _record(svc, datetime(2026, 11, 1, 18, minute, tzinfo=UTC))
    report = svc.usage_report(
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 11, 3, tzinfo=UTC),
        group_by=[],
        bucket="day",
        timezone="Asia/Kolkata",
    )
    assert [r.usage.records for r in report.rows] == [1, 1]
    assert report.rows[1].bucket_start == datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
    assert report.source["ledger_pieces"] > 0


def test_budget_and_policy_groups_follow_the_policy_scopes(svc):
    openai = svc.create_budget("openai-spend")
    beta = svc.create_budget("beta-project")
    svc.add_policy(
        openai.budget_id, type="warn", period="daily", cost_limit="100", provider="openai"
    )
    svc.add_policy(beta.budget_id, type="warn", period="monthly", cost_limit="100", project="beta")
    at = datetime(2026, 11, 3, 9, tzinfo=UTC)
    _record(svc, at, project="alpha")
    _record(svc, at, project="beta")
    _record(svc, at, model=("acme", "house-1"), project="beta")
    _record(svc, at, model=("acme", "house-1"), project="gamma")
    window = {"since": at, "until": at + timedelta(hours=1)}
    report = svc.usage_report(**window, group_by=["budget"])
    records = {r.group["budget"]: r.usage.records for r in report.rows}
    assert records == {openai.budget_id: 2, beta.budget_id: 2, None: 1}
    assert report.names["budget"][beta.budget_id] == "beta-project"
    assert report.total.records == 4
    filtered = svc.usage_report(**window, group_by=["model"], budget_id=beta.budget_id)
    ledger = svc.usage_totals(**window, budget_id=beta.budget_id)
    assert filtered.total.records == ledger["records"] == 2
    assert filtered.total.cost == ledger["cost"]
    by_policy = svc.usage_report(**window, group_by=["policy"], top=1)
    assert len(by_policy.rows) == 1 and by_policy.others is not None


def test_top_consumers(svc):
    at = datetime(2026, 11, 4, 9, tzinfo=UTC)
    for user, calls in (("ana", 3), ("bob", 2), ("cy", 1)):
        for i in range(calls):
            _record(svc, at + timedelta(minutes=i), user=user)
    report = svc.usage_report(since=at, until=at + timedelta(hours=1), group_by=["user"], top=2)
    assert [r.group["user"] for r in report.rows] == ["ana", "bob"]
    assert report.others.records == 1 and report.total.records == 6


def test_rebuild_agrees_then_finds_and_repairs_a_difference(svc, db_url):
    at = datetime(2026, 11, 5, 9, tzinfo=UTC)
    svc.record_usage_batch(
        [{"provider": "openai", "model": "gpt-4o", "input_tokens": 100, "occurred_at": at}] * 3
    )
    allocation = svc.allocate(context_id="c", provider="openai", model="gpt-4o-mini", tokens=500)
    svc.record_usage(allocation_id=allocation.allocation_id, input_tokens=200, output_tokens=50)
    _record(svc, at, model=("acme", "house-1"), tags=["a", "b"])
    assert svc.rebuild_rollups(check_only=True).agreed
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE usage_rollups SET records = records + 5 WHERE cube = 'model'"))
    engine.dispose()
    check = svc.rebuild_rollups(check_only=True)
    assert not check.agreed and not check.repaired and check.mismatched_rows > 0
    fixed = svc.rebuild_rollups()
    assert fixed.repaired and fixed.ledger_records == 5
    assert svc.rebuild_rollups(check_only=True).agreed
    report = svc.usage_report(since=at - timedelta(days=1), until=datetime.now(UTC), group_by=[])
    assert report.total.records == svc.usage_totals()["records"] == 5


def test_forecast_alert_fires_once_before_the_limit_is_reached(svc, pinned_clock):
    team = svc.create_budget("forecast")
    policy = svc.add_policy(team.budget_id, type="warn", period="daily", cost_limit="1")
    noon = pinned_clock.now  # 2026-11-29 12:00 UTC
    for hour in range(12):  # $0.05 an hour all morning: $0.60, heading for $1.20
        _record(svc, noon.replace(hour=hour, minute=30))
    (first,) = svc.forecast(team.budget_id)
    assert first.policy_id == policy.policy_id and first.usd.used == Decimal("0.6")
    assert first.usd.average_rate == Decimal("0.05") and first.usd.recent_rate == Decimal("0.05")
    assert first.usd.projected == Decimal("1.2") and first.will_exceed and first.alert_raised
    assert first.usd.exceeds_at == noon + timedelta(hours=8)
    (again,) = svc.forecast()
    assert again.will_exceed and not again.alert_raised
    alerts = svc.list_alerts(budget_id=team.budget_id)
    assert [a.kind for a in alerts] == [AlertKind.FORECAST_EXCEEDS]  # no limit reached yet
    assert alerts[0].window == "2026-11-29"


def test_reports_refuse_bad_input_naming_the_field(svc):
    now = datetime(2026, 11, 29, tzinfo=UTC)
    cases = [
        ({"group_by": ["colour"]}, "group_by"),
        ({"group_by": [], "bucket": "fortnight"}, "bucket"),
        ({"group_by": [], "timezone": "Mars/Olympus"}, "timezone"),
        ({"group_by": [], "colour": "red"}, "colour"),
        ({"group_by": [], "top": 0}, "top"),
        ({"group_by": [], "budget_id": "bud_nope"}, "budget_id"),
    ]
    for args, field in cases:
        with pytest.raises(budget.BudgetError) as err:
            svc.usage_report(since=now - timedelta(days=1), until=now, **args)
        assert err.value.field == field


def test_migration_fills_rollups_from_an_existing_ledger(tmp_path):
    from budget.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO usage_records (id, content_hash, provider, model, tags, input_tokens,"
                " output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,"
                " total_tokens, priced, cost_nanos, metadata, occurred_at, recorded_at)"
                " VALUES ('use_1', 'h', 'openai', 'gpt-4o', '[\"x\"]', 100, 10, 0, 0, 0, 110,"
                " 1, 350000, '{}', '2026-11-01 10:00:00.000000', '2026-11-01 10:00:00.000000')"
            )
        )
    engine.dispose()
    svc = budget.open(url, price_network=False)  # migrates to the head
    try:
        check = svc.rebuild_rollups(check_only=True)
        assert check.agreed and check.stored_rows > 0 and check.ledger_records == 1
        report = svc.usage_report(
            since=datetime(2026, 11, 1, tzinfo=UTC),
            until=datetime(2026, 11, 2, tzinfo=UTC),
            group_by=["tag"],
        )
        assert [(r.group["tag"], r.usage.records) for r in report.rows] == [("x", 1)]
    finally:
        svc.close()
