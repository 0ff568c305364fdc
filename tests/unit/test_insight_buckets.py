"""Report buckets: labels in any timezone, and how a range splits between the
rollups (whole UTC hours and days) and the ledger (sub-hour pieces)."""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.domain.rollups import EPOCH, epoch_hour
from budget.engine.insight.buckets import Bucketing, check_range, label_rule, offset_segments, plan
from budget.errors import ValidationError
from budget.storage.reports import label_sql

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_utc_month_by_day_reads_day_rollups_only():
    time = plan(utc(2026, 10, 1), utc(2026, 11, 1), Bucketing.of("day", "UTC"))
    assert time.days == [(epoch_hour(utc(2026, 10, 1)), epoch_hour(utc(2026, 11, 1)))]
    assert time.hours == [] and time.ledger == []


def test_berlin_days_read_hour_rollups_and_no_ledger():
    time = plan(utc(2026, 9, 30, 22), utc(2026, 10, 31, 23), Bucketing.of("day", "Europe/Berlin"))
    assert time.ledger == [] and time.days == []
    assert time.hours == [(epoch_hour(utc(2026, 9, 30, 22)), epoch_hour(utc(2026, 10, 31, 23)))]


def test_unaligned_range_ends_come_from_the_ledger():
    time = plan(utc(2026, 11, 1, 10, 15), utc(2026, 11, 3, 7, 5), Bucketing.of(None, "UTC"))
    pieces = [(p.start, p.end) for p in time.ledger]
    assert pieces == [
        (utc(2026, 11, 1, 10, 15), utc(2026, 11, 1, 11)),
        (utc(2026, 11, 3, 7), utc(2026, 11, 3, 7, 5)),
    ]
    assert time.days == [(epoch_hour(utc(2026, 11, 2)), epoch_hour(utc(2026, 11, 3)))]


def test_half_hour_zone_splits_the_hour_holding_local_midnight():
    time = plan(utc(2026, 11, 1), utc(2026, 11, 3), Bucketing.of("day", "Asia/Kolkata"))
    pieces = [(p.start, p.end) for p in time.ledger]
    assert (utc(2026, 11, 1, 18), utc(2026, 11, 1, 18, 30)) in pieces
    assert (utc(2026, 11, 1, 18, 30), utc(2026, 11, 1, 19)) in pieces
    labels = {p.label for p in time.ledger if p.start == utc(2026, 11, 1, 18, 30)}
    assert labels == {Bucketing.of("day", "Asia/Kolkata").label(utc(2026, 11, 1, 18, 30))}


def test_dst_days_last_23_and_25_hours():
    berlin = Bucketing.of("day", "Europe/Berlin")
    spring = berlin.bounds(berlin.label(utc(2026, 3, 29, 12)))
    autumn = berlin.bounds(berlin.label(utc(2026, 10, 25, 12)))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_hour_bounds_in_a_half_hour_zone():
    kolkata = Bucketing.of("hour", "Asia/Kolkata")
    assert kolkata.bounds(kolkata.label(utc(2026, 11, 1, 10, 40))) == (
        utc(2026, 11, 1, 10, 30),
        utc(2026, 11, 1, 11, 30),
    )


def test_weeks_start_on_monday_and_months_on_the_first():
    week = Bucketing.of("week", "Europe/Berlin")
    start, end = week.bounds(week.label(utc(2026, 11, 29, 12)))  # a Sunday
    assert start == utc(2026, 11, 22, 23) and end == utc(2026, 11, 29, 23)
    month = Bucketing.of("month", "America/New_York")
    october = (utc(2026, 10, 1, 4), utc(2026, 11, 1, 4))
    assert month.bounds(month.label(utc(2026, 11, 1, 3))) == october


def test_offset_segments_find_the_dst_change():
    first, last = epoch_hour(utc(2026, 10, 20)), epoch_hour(utc(2026, 10, 30))
    from zoneinfo import ZoneInfo

    segments = offset_segments(ZoneInfo("Europe/Berlin"), first, last)
    assert segments == [(first, 120), (epoch_hour(utc(2026, 10, 25, 1)), 60)]


def test_bad_ranges_and_buckets_name_the_field():
    with pytest.raises(ValidationError) as err:
        check_range(utc(2026, 2, 1), utc(2026, 1, 1))
    assert err.value.field == "until"
    with pytest.raises(ValidationError) as err:
        check_range(utc(1969, 1, 1), utc(2026, 1, 1))
    assert err.value.field == "since"
    with pytest.raises(ValidationError) as err:
        Bucketing.of("fortnight", "UTC")
    assert err.value.field == "bucket"
    with pytest.raises(ValidationError) as err:
        plan(utc(2000, 1, 1), utc(2026, 1, 1), Bucketing.of("hour", "UTC"))
    assert err.value.field == "bucket"
    with pytest.raises(ValidationError) as err:
        plan(utc(2026, 1, 1), utc(2026, 6, 1), Bucketing.of("hour", "Asia/Kolkata"))
    assert err.value.field == "timezone"


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    kind=st.sampled_from(["day", "week", "month"]),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)),
    hours=st.integers(min_value=1, max_value=24 * 100),
)
def test_sql_labels_equal_python_labels_for_every_rollup_row(zone, kind, start, hours):
    bucketing = Bucketing.of(kind, zone)
    since = start.replace(tzinfo=UTC)
    until = since + timedelta(hours=hours)
    time = plan(since, until, bucketing)
    db = sqlite3.connect(":memory:")
    for ranges, span in ((time.hours, 1), (time.days, 24)):
        if not ranges:
            continue
        expr = label_sql(label_rule(bucketing, ranges), "start_hour")
        for first, last in ranges:
            for hour in range(first, last, span):
                got = db.execute(f"SELECT {expr} FROM (SELECT {hour} AS start_hour)").fetchone()[0]
                instant = EPOCH + timedelta(hours=hour)
                assert got == bucketing.label(instant)
                last = instant + timedelta(hours=span) - timedelta(seconds=1)
                assert bucketing.label(last) == got  # the whole row lies in that bucket
