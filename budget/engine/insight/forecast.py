"""Burn rate and forecast for each current window, and the ``forecast_exceeds`` alert.

For a calendar window [start, end) at time ``now`` (docs/insight.md):

* ``used`` is the window's counter (exact: what the window counted so far);
* average rate ``r_avg = used / (now - start)``;
* recent rate ``r_recent = spent in [recent_start, now) / (now - recent_start)``,
  read from the hour rollups of the policy's scope, where ``recent_start`` is
  the start of the hour ``L - 1`` hours before the current one (L = 3 h for a
  daily window, 24 h weekly, 72 h monthly; an hourly window has no recent rate),
  and never before the window's first whole hour;
* ``rate = (r_avg + r_recent) / 2`` (``r_avg`` alone without a recent rate);
* ``projected = used + rate * (end - now)``; ``exceeds_at = now + (limit - used) / rate``.

A ``forecast_exceeds`` alert is raised once per window when a projection
passes a limit the window has not reached yet, provided at least 10 % of the
window has elapsed (earlier projections swing too much to act on).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from budget.clock import utcnow
from budget.domain.enums import Period, PolicyType
from budget.domain.models import Policy, WindowCounters
from budget.domain.money import nanos_to_usd
from budget.domain.periods import CALENDAR_PERIODS, WindowSpan, calendar_window, load_timezone
from budget.domain.rollups import EPOCH, epoch_hour
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.insight import aggregate as agg
from budget.engine.insight.buckets import Bucketing, plan
from budget.engine.insight.forecast_alert import raise_forecast_alert
from budget.engine.insight.projection import Forecast, Projection

if TYPE_CHECKING:
    from budget.storage.unit import Unit

__all__ = ["Forecast", "Projection", "forecast", "project", "recent_start", "recent_usage"]
HOUR = timedelta(hours=1)
RECENT_HOURS = {Period.HOURLY: 0, Period.DAILY: 3, Period.WEEKLY: 24, Period.MONTHLY: 72}
RECENT_WEIGHT = Decimal("0.5")
MIN_ELAPSED_SHARE = Decimal("0.1")
_WHOLE = Decimal(1)


def forecast(ctx: EngineContext, budget_id: str | None = None) -> list[Forecast]:
    """A forecast for the current window of every calendar policy of the active budgets
    (or of one budget), most urgent first; raises ``forecast_exceeds`` alerts as it goes."""
    now = utcnow()
    if budget_id is not None:
        get_budget(ctx, budget_id)
    with ctx.db.read() as tx:
        ctx.refresh(tx)  # the policies of active budgets, as enforcement sees them
        policies = [p for p in ctx.policies if _forecastable(p, budget_id, now)]
        spans = {p.policy_id: _span(p, now) for p in policies}
        counters = tx.reports.window_counters(
            (p.policy_id, spans[p.policy_id].key) for p in policies
        )
        recent = recent_usage(tx, policies, spans, now)
        out = [
            project(p, spans[p.policy_id], counters.get(p.policy_id), now, recent.get(p.policy_id))
            for p in policies
        ]
    alerting = [
        f for f in out if f.will_exceed and f.confident and f.policy_type is not PolicyType.IGNORE
    ]
    if alerting:
        raised = ctx.db.run_write(
            lambda tx: {f.policy_id for f in alerting if raise_forecast_alert(tx, f)}
        )
        out = [_with_alert(f) if f.policy_id in raised else f for f in out]
    return sorted(out, key=_urgency)


def _forecastable(policy: Policy, budget_id: str | None, now: datetime) -> bool:
    # A policy with ``each`` has a window per subject; its scope's burn rate is
    # every subject's together, which says nothing about one subject's limit.
    return (
        (budget_id is None or policy.budget_id == budget_id)
        and policy.period in CALENDAR_PERIODS
        and not policy.each
        and policy.in_force(now)
    )


def _span(policy: Policy, now: datetime) -> WindowSpan:
    return calendar_window(policy.period, load_timezone(policy.timezone), now)


def _urgency(f: Forecast) -> tuple:
    shares = [x for x in (f.usd.projected_share, f.tokens.projected_share) if x is not None]
    return (-(max(shares) if shares else Decimal(-1)), f.budget_id, f.policy_name)


def _with_alert(f: Forecast) -> Forecast:
    from dataclasses import replace

    return replace(f, alert_raised=True)


def project(
    policy: Policy,
    span: WindowSpan,
    counters: WindowCounters | None,
    now: datetime,
    recent_spend: tuple[datetime, agg.Counters] | None = None,
) -> Forecast:
    """The forecast of one window (``counters`` None: nothing counted yet), with what
    its scope spent since a recent start (None: no recent rate)."""
    c = counters or WindowCounters()
    start, end = span.starts_at, span.ends_at
    assert start is not None and end is not None
    elapsed = _hours(now - start)
    remaining = _hours(end - now)
    recent_from, recent = recent_spend if recent_spend is not None else (start, None)
    recent_hours = _hours(now - recent_from) if recent is not None else Decimal(0)
    usd = _projection(
        "usd",
        _usd(policy.cost_limit_nanos),
        Decimal(c.used_nanos),
        Decimal(c.reserved_nanos),
        elapsed,
        remaining,
        None if recent is None else (Decimal(recent.cost_nanos), recent_hours),
        now,
    )
    tokens = _projection(
        "tokens",
        None if policy.token_limit is None else Decimal(policy.token_limit),
        Decimal(c.used_tokens),
        Decimal(c.reserved_tokens),
        elapsed,
        remaining,
        None if recent is None else (Decimal(recent.total_tokens), recent_hours),
        now,
    )
    length = elapsed + remaining
    return Forecast(
        budget_id=policy.budget_id,
        policy_id=policy.policy_id,
        policy_name=policy.name,
        policy_type=policy.type,
        period=policy.period,
        window=span.key,
        starts_at=start,
        resets_at=end,
        as_of=now,
        elapsed_hours=_round(elapsed, "0.0001"),
        remaining_hours=_round(remaining, "0.0001"),
        recent_hours=_round(recent_hours, "0.0001"),
        usd=_as_usd(usd),
        tokens=_as_tokens(tokens),
        confident=length > 0 and elapsed / length >= MIN_ELAPSED_SHARE,
    )


def _usd(nanos: int | None) -> Decimal | None:
    return None if nanos is None else Decimal(nanos)


def _hours(delta: timedelta) -> Decimal:
    return max(Decimal(delta.total_seconds()) / 3600, Decimal(0))


def recent_start(policy: Policy, start: datetime, now: datetime) -> datetime | None:
    """Where the recent rate's stretch begins (None: the window has no recent rate)."""
    lookback = RECENT_HOURS.get(policy.period, 0)
    if not lookback:
        return None
    first_whole = -(-int((start - EPOCH).total_seconds()) // 3600)
    begin = EPOCH + timedelta(hours=max(first_whole, epoch_hour(now) - lookback + 1))
    if begin >= now or begin <= start:
        return None  # the whole window so far: the average says it all
    return begin


def recent_usage(
    tx: Unit, policies: list[Policy], spans: dict[str, WindowSpan], now: datetime
) -> dict[str, tuple[datetime, agg.Counters]]:
    """What each policy's scope spent since its recent start, from the hour rollups.

    Policies whose scopes read the same cube share one query (hour buckets, a row
    per scope value), so a forecast of every window costs a handful of queries.
    """
    starts = {}
    for p in policies:
        begin = recent_start(p, spans[p.policy_id].starts_at, now)  # type: ignore[arg-type]
        if begin is not None:
            starts[p.policy_id] = begin
    batches: dict[str | None, list[Policy]] = {}
    for p in policies:
        if p.policy_id in starts:
            cube = agg.cube_for(set(agg.scope_values(p)), frozenset(p.scope.tags))
            batches.setdefault(cube, []).append(p)
    until = EPOCH + timedelta(hours=epoch_hour(now) + 1)
    spent = {pid: agg.Counters() for pid in starts}
    for cube, group in batches.items():
        for members in [group] if cube is not None else [[p] for p in group]:
            _add_recent(tx, members, starts, until, spent)
    return {pid: (starts[pid], spent[pid]) for pid in starts}


def _add_recent(
    tx: Unit,
    members: list[Policy],
    starts: dict[str, datetime],
    until: datetime,
    spent: dict[str, agg.Counters],
) -> None:
    first = min(starts[p.policy_id] for p in members)
    hourly = Bucketing.of("hour", "UTC")
    group = tuple(members)
    query = agg.Query(first, until, hourly, ("policy",), {}, frozenset(), group, group)
    result = agg.run(tx, query, plan(first, until, hourly))
    for (label, (policy_id,)), usage in result.groups.items():
        if policy_id is not None and EPOCH + timedelta(hours=label) >= starts[policy_id]:
            spent[policy_id].merge(usage)


def _projection(
    unit: str,
    limit: Decimal | None,
    used: Decimal,
    reserved: Decimal,
    elapsed: Decimal,
    remaining: Decimal,
    recent: tuple[Decimal, Decimal] | None,
    now: datetime,
) -> Projection:
    average = used / elapsed if elapsed > 0 else Decimal(0)
    recent_rate = None
    rate = average
    if recent is not None and recent[1] > 0:
        recent_rate = recent[0] / recent[1]
        rate = RECENT_WEIGHT * recent_rate + (1 - RECENT_WEIGHT) * average
    projected = used + rate * remaining
    share = None if not limit else projected / limit
    exceed = limit is not None and used < limit < projected
    exceeds_at = None
    if limit is not None and used < limit and rate > 0:
        # compared in hours first: a far-off crossing would overflow a datetime
        hours_left = (limit - used) / rate
        if hours_left <= remaining:
            exceeds_at = now + timedelta(hours=float(hours_left))
    return Projection(
        unit,
        limit,
        used,
        reserved,
        average,
        recent_rate,
        rate,
        projected,
        share,
        exceed,
        exceeds_at,
    )


def _round(x: Decimal, places: str) -> Decimal:
    return x.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def _as_usd(p: Projection) -> Projection:
    """Nano-USD figures to USD (projections rounded to whole nano-USD)."""

    def usd(x: Decimal | None) -> Decimal | None:
        return None if x is None else nanos_to_usd(int(x.to_integral_value(ROUND_HALF_EVEN)))

    return _converted(p, "usd", usd, usd)


def _as_tokens(p: Projection) -> Projection:
    """Token figures as they are; rates and projections rounded to whole tokens."""

    def whole(x: Decimal | None) -> Decimal | None:
        return None if x is None else x.quantize(_WHOLE, ROUND_HALF_EVEN)

    return _converted(p, "tokens", lambda x: x, whole)


def _converted(p: Projection, unit: str, amount: Any, rate: Any) -> Projection:
    """``p`` in ``unit``: ``amount`` applied to the limit and the counters,
    ``rate`` to the rates and the projection."""
    return Projection(
        unit,
        amount(p.limit),
        amount(p.used),
        amount(p.reserved),
        rate(p.average_rate),
        rate(p.recent_rate),
        rate(p.rate),
        rate(p.projected),
        None if p.projected_share is None else _round(p.projected_share, "0.0001"),
        p.will_exceed,
        p.exceeds_at,
    )
