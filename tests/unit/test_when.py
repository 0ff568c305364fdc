"""budget.domain.when: the one parser of times typed by people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from budget.domain import validation as v
from budget.domain import when
from budget.errors import ValidationError

# A fixed reference: Wednesday 2026-12-02 15:30 UTC (16:30 in Berlin, winter time).
NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
# Berlin changed to summer time on 2026-03-29 at 02:00 (+01:00 -> +02:00) and
# back on 2026-10-25 at 03:00 (+02:00 -> +01:00).
SPRING = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # 14:00 CEST, the day clocks went forward
AUTUMN = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)  # 13:00 CET, the day clocks went back


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


CASES = [
    # (text, zone, now, expected)
    ("now", None, NOW, NOW),
    (" NOW ", None, NOW, NOW),
    ("today", None, NOW, utc(2026, 12, 2)),
    ("yesterday", None, NOW, utc(2026, 12, 1)),
    ("today", "Europe/Berlin", NOW, utc(2026, 12, 1, 23)),
    ("yesterday", "Europe/Berlin", NOW, utc(2026, 11, 30, 23)),
    ("today", "America/New_York", utc(2026, 12, 2, 3), utc(2026, 12, 1, 5)),  # still the 1st there
    ("30m", None, NOW, NOW - timedelta(minutes=30)),
    ("24h", None, NOW, NOW - timedelta(hours=24)),
    ("24H", None, NOW, NOW - timedelta(hours=24)),
    ("-2h", None, NOW, NOW - timedelta(hours=2)),
    ("+2h", None, NOW, NOW + timedelta(hours=2)),
    ("7d", None, NOW, NOW - timedelta(days=7)),
    ("2w", None, NOW, NOW - timedelta(days=14)),
    ("0d", None, NOW, NOW),
    ("2026-11-29", None, NOW, utc(2026, 11, 29)),
    ("2026-11-29", "Europe/Berlin", NOW, utc(2026, 11, 28, 23)),
    ("2026-07-01", "Europe/Berlin", NOW, utc(2026, 6, 30, 22)),  # summer: +02:00
    ("2026-11-29T12:00:00Z", None, NOW, utc(2026, 11, 29, 12)),
    ("2026-11-29t12:00:00z", None, NOW, utc(2026, 11, 29, 12)),
    ("2026-11-29 12:00", None, NOW, utc(2026, 11, 29, 12)),  # no offset: UTC, as before
    ("2026-11-29T12:00", "Europe/Berlin", NOW, utc(2026, 11, 29, 12)),  # still UTC
    (
        "2026-11-29T12:00:00+01:00",
        None,
        NOW,
        datetime(2026, 11, 29, 12, tzinfo=timezone(timedelta(hours=1))),
    ),
    # DST: a day in Berlin is 23 hours in spring, 25 in autumn.
    ("1d", "Europe/Berlin", SPRING, SPRING - timedelta(hours=23)),
    ("1d", "Europe/Berlin", AUTUMN, AUTUMN - timedelta(hours=25)),
    ("1d", None, SPRING, SPRING - timedelta(hours=24)),  # UTC has no DST
    ("24h", "Europe/Berlin", SPRING, SPRING - timedelta(hours=24)),  # hours are exact
    ("today", "Europe/Berlin", SPRING, utc(2026, 3, 28, 23)),  # midnight was still +01:00
    ("yesterday", "Europe/Berlin", utc(2026, 3, 30, 12), utc(2026, 3, 28, 23)),
    ("today", "Europe/Berlin", AUTUMN, utc(2026, 10, 24, 22)),  # midnight was still +02:00
    ("2026-10-26", "Europe/Berlin", NOW, utc(2026, 10, 25, 23)),  # the day after: +01:00
    # A wall time the change skips (02:30 on 2026-03-29) takes the offset before it.
    ("1d", "Europe/Berlin", utc(2026, 3, 30, 0, 30), utc(2026, 3, 29, 1, 30)),
    # America/Santiago skips midnight itself (00:00 -> 01:00 on 2026-09-06).
    ("2026-09-06", "America/Santiago", NOW, utc(2026, 9, 6, 4)),
]


@pytest.mark.parametrize(("text", "zone", "now", "expected"), CASES)
def test_parse(text: str, zone: str | None, now: datetime, expected: datetime) -> None:
    got = when.parse("since", text, zone=zone, now=now)
    assert got == expected
    assert got.tzinfo is not None


BAD = [
    "",
    "   ",
    "bogus",
    "24",
    "24y",
    "1.5h",
    "7 days",
    "1700000000",
    "2026-13-01",
    "2026-02-30",
    "2026-11-29T25:00",
    "2026-W48",
    "2026-334",
    "tomorrow",
    "h",
    "1234567h",
]


@pytest.mark.parametrize("text", BAD)
def test_bad_text_names_the_field_and_the_value(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        when.parse("until", text, now=NOW)
    assert err.value.field == "until"
    assert err.value.value == text
    assert "24h" in err.value.reason


def test_not_text_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        when.parse("at", 1700000000, now=NOW)  # type: ignore[arg-type]
    assert err.value.field == "at"


def test_an_unknown_zone_names_the_timezone() -> None:
    with pytest.raises(ValidationError) as err:
        when.parse("since", "yesterday", zone="Mars/Olympus", now=NOW)
    assert err.value.field == "timezone"
    assert err.value.value == "Mars/Olympus"


def test_an_age_too_large_for_the_calendar_is_an_error() -> None:
    with pytest.raises(ValidationError) as err:
        when.parse("since", "999999w", now=NOW)
    assert err.value.field == "since"


def test_the_default_reference_is_the_service_clock() -> None:
    from budget.clock import set_clock

    set_clock(lambda: NOW)
    try:
        assert when.parse("since", "24h") == NOW - timedelta(hours=24)
        assert v.instant("since", "yesterday", zone="Europe/Berlin") == utc(2026, 11, 30, 23)
    finally:
        set_clock(None)


def test_instant_keeps_its_range_check_on_relative_times() -> None:
    with pytest.raises(ValidationError) as err:
        v.instant("since", "900000w")
    assert err.value.field == "since"
