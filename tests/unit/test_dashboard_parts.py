"""The dashboard's pure parts: the signed session, bar geometry, periods, formats."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from budget.web import session
from budget.web.auth import safe_next
from budget.web.data_budgets import bar
from budget.web.data_reports import change, period_ranges
from budget.web.render import usd

SECRET = b"s" * 32


def test_session_round_trip_and_forgery():
    original = session.new_session("bgt_secret")
    value = session.sign(original, SECRET)
    assert session.verify(value, SECRET, 3600) == original
    assert session.verify(value, b"other" * 8, 3600) is None
    payload, mac = value.split(".")
    forged = session.sign(session.Session("bgt_other", original.csrf, original.issued_at), SECRET)
    assert session.verify(forged.split(".")[0] + "." + mac, SECRET, 3600) is None
    for junk in (None, "", "abc", "a.b.c", payload + ".!!"):
        assert session.verify(junk, SECRET, 3600) is None


def test_session_expires():
    old = session.Session("bgt_x", "token", time.time() - 7200)
    assert session.verify(session.sign(old, SECRET), SECRET, 3600) is None
    assert session.verify(session.sign(old, SECRET), SECRET, 10800) == old


def test_bar_places_used_reserved_limit_thresholds_and_projection():
    projection = {
        "projected": "120",
        "exceeds_at": "2026-12-03T00:00:00+00:00",
        "will_exceed": True,
    }
    b = bar(
        Decimal(40),
        Decimal(10),
        Decimal(100),
        [Decimal("0.5"), Decimal("0.8"), Decimal(1)],
        projection,
    )
    assert b["limit_pct"] == round(100 / 1.2, 2)  # the bar reaches the projection
    assert b["used_pct"] == round(40 / 1.2, 2) and b["reserved_pct"] == round(10 / 1.2, 2)
    assert [t["pct"] for t in b["thresholds"]] == [round(50 / 1.2, 2), round(80 / 1.2, 2)]
    assert b["projected_pct"] == 100.0 and b["will_exceed"] and b["fill"] == Decimal("0.5")


def test_bar_caps_a_projection_far_past_the_limit():
    b = bar(
        Decimal(1),
        Decimal(0),
        Decimal(10),
        [],
        {"projected": "1000", "exceeds_at": None, "will_exceed": True},
    )
    assert b["limit_pct"] == round(100 / 1.5, 2) and b["projected_pct"] == 100.0
    assert b["projected"] == Decimal(1000)  # the figure itself is kept


def test_periods_and_their_previous_to_the_same_point():
    tz = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)  # Wednesday, 11:30 in Berlin
    ranges = period_ranges(now, tz)
    start, end, before, until = ranges["today"]
    assert start == datetime(2026, 12, 2, tzinfo=tz) and end == datetime(2026, 12, 3, tzinfo=tz)
    assert before == datetime(2026, 12, 1, tzinfo=tz) and until - before == now - start
    start, _, before, _ = ranges["week"]
    assert start == datetime(2026, 11, 30, tzinfo=tz) and before == datetime(
        2026, 11, 23, tzinfo=tz
    )
    start, end, before, until = ranges["month"]
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=tz), datetime(2027, 1, 1, tzinfo=tz))
    assert before == datetime(2026, 11, 1, tzinfo=tz)


def test_previous_month_shorter_than_elapsed_stops_at_its_end():
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    _, _, before, until = period_ranges(now, ZoneInfo("UTC"))["month"]
    assert before == datetime(2026, 2, 1, tzinfo=UTC) and until == datetime(2026, 3, 1, tzinfo=UTC)


def test_change_and_money():
    assert change("3", "2") == Decimal("0.5") and change("1", "0") is None
    assert usd("1234.5") == "$1,234.50" and usd("0.0094") == "$0.0094"
    assert usd("0.00001") == "<$0.0001" and usd("0") == "$0.0000" and usd(None) == "—"


def test_only_local_paths_are_followed_after_login():
    assert safe_next("/budgets?x=1") == "/budgets?x=1"
    for bad in (None, "", "https://evil.example/", "//evil.example", "/\\evil.example"):
        assert safe_next(bad) == "/"
