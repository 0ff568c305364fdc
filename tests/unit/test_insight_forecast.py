"""Forecast arithmetic: average and recent rates, the projection, when a limit falls."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, ScopeFilter, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine.insight.forecast import RECENT_WEIGHT, _projection, project

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_without_a_recent_rate_the_average_is_projected_linearly():
    p = _projection("usd", D(100), D(30), D(0), D(12), D(12), None, NOW)
    assert p.average_rate == D("2.5") and p.rate == p.average_rate and p.recent_rate is None
    assert p.projected == D(60)  # 30 + 2.5 * 12
    assert not p.will_exceed and p.exceeds_at is None
    assert p.projected_share == D("0.6")


def test_recent_rate_is_weighted_with_the_average():
    # 12 h elapsed, 30 used (2.5/h); the last 3 h spent 15 (5/h): rate 3.75/h.
    p = _projection("usd", D(70), D(30), D(0), D(12), D(12), (D(15), D(3)), NOW)
    assert p.recent_rate == D(5)
    assert p.rate == RECENT_WEIGHT * D(5) + (1 - RECENT_WEIGHT) * D("2.5") == D("3.75")
    assert p.projected == D(75)
    assert p.will_exceed
    # (70 - 30) / 3.75 h = 10 h 40 min from now
    assert p.exceeds_at == NOW + timedelta(hours=float(D(40) / D("3.75")))


def test_a_limit_already_reached_is_no_forecast_alert():
    p = _projection("tokens", D(100), D(120), D(0), D(6), D(18), None, NOW)
    assert not p.will_exceed and p.exceeds_at is None


def test_no_limit_projects_but_never_exceeds():
    p = _projection("usd", None, D(10), D(0), D(5), D(5), None, NOW)
    assert p.projected == D(20) and not p.will_exceed and p.projected_share is None


def test_exceeding_after_the_window_ends_has_no_date():
    p = _projection("usd", D(100), D(10), D(0), D(10), D(10), None, NOW)  # 1/h, 20 by the end
    assert not p.will_exceed and p.exceeds_at is None


def test_a_crossing_too_far_off_for_a_date_is_no_crossing_and_no_error():
    # a huge limit at a tiny rate would cross millennia from now: past any datetime
    p = _projection("tokens", D(10**18), D(1), D(0), D(1000), D(10), None, NOW)
    assert p.exceeds_at is None and not p.will_exceed


def _policy(period: Period) -> Policy:
    return Policy(
        policy_id="pol_1",
        budget_id="bud_1",
        name="daily",
        type=PolicyType.HARD_LIMIT,
        period=period,
        timezone="UTC",
        scope=ScopeFilter(),
        token_limit=1000,
        cost_limit_nanos=2_000_000_000,
        warning_thresholds=(),
        action_threshold=None,
        critical_headroom=D(0),
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=NOW,
        updated_at=NOW,
    )


def test_an_hourly_window_forecast_in_usd_and_tokens():
    span = WindowSpan("2026-11-29T12:00Z", NOW, NOW + timedelta(hours=1))
    counters = WindowCounters(used_tokens=300, used_nanos=500_000_000)
    f = project(_policy(Period.HOURLY), span, counters, NOW + timedelta(minutes=15))
    assert f.elapsed_hours == D("0.2500") and f.remaining_hours == D("0.7500")
    assert f.usd.used == D("0.5") and f.usd.rate == D(2) and f.usd.projected == D(2)
    assert f.tokens.projected == D(1200) and f.tokens.will_exceed and not f.usd.will_exceed
    assert f.will_exceed and f.confident  # 25 % of the window has passed
    assert f.to_dict()["usd"]["projected"] == "2"


def test_early_projections_are_not_confident():
    span = WindowSpan("2026-11-29T12:00Z", NOW, NOW + timedelta(hours=1))
    f = project(_policy(Period.HOURLY), span, None, NOW + timedelta(minutes=3))
    assert not f.confident and f.usd.used == 0 and f.usd.projected == 0
