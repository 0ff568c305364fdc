"""Invariant 5: windows are calendar-aligned in the policy's timezone, DST included."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from budget.domain.enums import Period
from budget.domain.periods import calendar_window, load_timezone, window_for
from budget.errors import ValidationError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_window_starts_at_local_midnight():
    span = calendar_window(Period.DAILY, BERLIN, utc(2026, 11, 29, 12))
    assert span.key == "2026-11-29"
    assert span.starts_at == utc(2026, 11, 28, 23)  # CET = UTC+1
    assert span.ends_at == utc(2026, 11, 29, 23)


def test_late_utc_evening_is_already_tomorrow_in_berlin():
    assert calendar_window(Period.DAILY, BERLIN, utc(2026, 11, 29, 23, 30)).key == "2026-11-30"


def test_spring_forward_day_lasts_23_hours():
    span = calendar_window(Period.DAILY, BERLIN, utc(2026, 3, 29, 12))
    assert span.ends_at - span.starts_at == timedelta(hours=23)
    assert span.starts_at == utc(2026, 3, 28, 23) and span.ends_at == utc(2026, 3, 29, 22)


def test_fall_back_day_lasts_25_hours():
    span = calendar_window(Period.DAILY, BERLIN, utc(2026, 10, 25, 12))
    assert span.ends_at - span.starts_at == timedelta(hours=25)


def test_hourly_windows_in_the_repeated_hour_are_distinct():
    # 2026-11-01 01:00-02:00 happens twice in New York (EDT, then EST).
    first = calendar_window(Period.HOURLY, NEW_YORK, utc(2026, 11, 1, 5, 30))
    second = calendar_window(Period.HOURLY, NEW_YORK, utc(2026, 11, 1, 6, 30))
    assert first.key != second.key
    assert first.ends_at == second.starts_at
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in (first, second))


def test_hourly_window_in_a_half_hour_zone():
    span = calendar_window(Period.HOURLY, ZoneInfo("Asia/Kolkata"), utc(2026, 11, 29, 12, 10))
    assert span.starts_at == utc(2026, 11, 29, 11, 30)


def test_weekly_window_starts_monday():
    span = calendar_window(Period.WEEKLY, BERLIN, utc(2026, 11, 29, 12))  # a Sunday
    assert span.starts_at.astimezone(BERLIN).weekday() == 0
    assert span.starts_at == utc(2026, 11, 22, 23)
    assert span.ends_at == utc(2026, 11, 29, 23)
    assert span.key == "2026-W48"


def test_monthly_window_spans_the_calendar_month_across_dst():
    span = calendar_window(Period.MONTHLY, BERLIN, utc(2026, 10, 15))
    assert span.key == "2026-10"
    assert span.starts_at == utc(2026, 9, 30, 22)  # CEST = UTC+2
    assert span.ends_at == utc(2026, 10, 31, 23)  # CET = UTC+1


def test_december_rolls_into_next_year():
    span = calendar_window(Period.MONTHLY, ZoneInfo("UTC"), utc(2026, 12, 31, 23, 59))
    assert span.ends_at == utc(2027, 1, 1)


def test_midnight_gap_day_starts_at_the_jump():
    # America/Santiago springs forward at 00:00 (to 01:00) on 2026-09-06.
    tz = ZoneInfo("America/Santiago")
    span = calendar_window(Period.DAILY, tz, utc(2026, 9, 6, 15))
    assert span.starts_at.astimezone(tz).date().isoformat() == "2026-09-06"
    assert span.ends_at - span.starts_at == timedelta(hours=23)


@pytest.mark.parametrize("period", [Period.HOURLY, Period.DAILY, Period.WEEKLY, Period.MONTHLY])
def test_consecutive_windows_tile_time_without_gaps(period):
    at = utc(2026, 1, 1)
    span = calendar_window(period, BERLIN, at)
    for _ in range(60):
        following = calendar_window(period, BERLIN, span.ends_at)
        assert following.starts_at == span.ends_at
        assert following.key != span.key
        span = following


def test_session_task_and_total_windows():
    at = utc(2026, 11, 29)
    assert window_for(Period.PER_SESSION, BERLIN, at, session_id="s1").key == "session:s1"
    assert window_for(Period.PER_TASK, BERLIN, at, task_id="t1").key == "task:t1"
    assert window_for(Period.PER_SESSION, BERLIN, at) is None
    total = window_for(Period.TOTAL, BERLIN, at)
    assert total.key == "total" and total.ends_at is None


def test_bad_timezone_names_the_value():
    with pytest.raises(ValidationError) as info:
        load_timezone("Mars/Olympus")
    assert info.value.field == "timezone" and "Mars/Olympus" in str(info.value)
