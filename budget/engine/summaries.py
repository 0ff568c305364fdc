"""Where each policy stands: its current window(s) and its past ones.

A policy with ``each`` has a window per subject (say, per user) in every
period; a summary shows the fullest ``top`` of the current period's windows,
or, given a ``subject``, only the windows of those values — a window not
created yet shows what it would start with, as for any policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from budget.clock import utcnow
from budget.domain import validation as v
from budget.domain.enums import Period
from budget.domain.models import (
    SCOPE_FIELDS,
    BudgetSummary,
    PastWindow,
    Policy,
    Subject,
    WindowCounters,
    WindowStatus,
)
from budget.domain.money import nanos_to_usd
from budget.domain.periods import CALENDAR_PERIODS, WindowSpan, calendar_window, load_timezone
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.expiry import expire_allocations
from budget.engine.new_windows import current_counters
from budget.engine.policies import get_policy, list_policies
from budget.engine.seed import unpriced_in
from budget.errors import ValidationError
from budget.storage.unit import Unit
from budget.storage.window_reads import StoredWindow

#: Session and task windows never reset; a summary shows the most recent ones.
RECENT_WINDOWS = 20


def summary(
    ctx: EngineContext, budget_id: str, top: Any = 10, subject: Any = None
) -> BudgetSummary:
    """Every policy of a budget with its current window: used, reserved, limit,
    remaining and when it resets. An ``each`` policy shows its ``top`` fullest
    windows of the period; ``subject`` ({"user": "alice"}) shows only the
    windows of those values."""
    top = _top(top)
    wanted = _subject_filter(subject)
    budget = get_budget(ctx, budget_id)
    now = utcnow()
    ctx.db.run_write(lambda tx: expire_allocations(tx, now, limit=ctx.settings.sweep_batch))
    statuses: list[WindowStatus] = []
    with ctx.db.read() as tx:
        for policy in list_policies(ctx, budget_id):
            if policy.each:
                statuses.extend(_each_windows(tx, policy, now, top, wanted))
            else:
                statuses.extend(_policy_windows(tx, policy, now))
    return BudgetSummary(budget=budget, windows=tuple(statuses), as_of=now)


def _top(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValidationError("top", value, "must be an integer from 1 to 1000")
    return value


def _subject_filter(value: Any) -> dict[str, str]:
    """``{"user": "alice"}``, or ``["user=alice"]`` as a query string or CLI gives it."""
    if value is None:
        return {}
    if isinstance(value, list | tuple):
        pairs = []
        for item in value:
            name, sep, wanted = item.partition("=") if isinstance(item, str) else ("", "", "")
            if not sep:
                raise ValidationError("subject", item, "must be attribute=value, e.g. user=alice")
            pairs.append((name, wanted))
        value = dict(pairs)
    if not isinstance(value, Mapping):
        raise ValidationError("subject", value, "must map attributes to values, e.g. user=alice")
    out = {}
    for name, wanted in value.items():
        if name not in SCOPE_FIELDS:
            raise ValidationError("subject", name, f"must be one of {', '.join(SCOPE_FIELDS)}")
        out[name] = v.text(f"subject.{name}", wanted, required=True)
    return out


def current_span(policy: Policy, now) -> WindowSpan | None:
    """The window a calendar or total policy is in now (None: session or task)."""
    if policy.period in CALENDAR_PERIODS:
        return calendar_window(policy.period, load_timezone(policy.timezone), now)
    if policy.period is Period.TOTAL:
        return WindowSpan("total", None, None)
    return None


def _policy_windows(tx: Unit, policy: Policy, now) -> list[WindowStatus]:
    span = current_span(policy, now)
    if span is not None:
        # a window not created yet shows what it will start with: the ledger's
        # spend inside it that the policy covers
        counters = current_counters(tx, policy, span)
        return [_status(policy, span, counters, now, _unpriced(tx, policy, span))]
    out = []
    for w in tx.window_reads.recent(policy.policy_id, RECENT_WINDOWS):
        span = WindowSpan(w.key, w.starts_at, w.ends_at)
        out.append(_status(policy, span, w.counters, now, _unpriced(tx, policy, span)))
    return out


def _each_windows(
    tx: Unit, policy: Policy, now, top: int, wanted: dict[str, str]
) -> list[WindowStatus]:
    """The windows of an ``each`` policy in the current period, fullest first."""
    base = current_span(policy, now)
    if base is not None and set(policy.each) <= set(wanted):
        # one subject named in full: its window, or what it would start with
        subject: Subject = tuple((name, wanted[name]) for name in policy.each)
        if any(_plain(getattr(policy.scope, n)) not in (None, value) for n, value in subject):
            return []  # the policy's scope never covers these values
        narrowed, span = policy.narrowed(subject), base.for_subject(subject)
        counters = current_counters(tx, narrowed, span)
        unpriced = _unpriced(tx, narrowed, span)
        return [_status(policy, span, counters, now, unpriced, subject_windows=1)]
    starts_at = None if base is None else base.starts_at
    count, windows = tx.window_reads.subject_windows(policy, starts_at, wanted, top)
    out = []
    for w in windows:
        subject = tuple((n, w.subject.get(n)) for n in policy.each)
        span = WindowSpan(w.key, w.starts_at, w.ends_at, subject, (base and base.key) or "")
        narrowed = policy.narrowed(subject)
        unpriced = _unpriced(tx, narrowed, span)
        out.append(_status(policy, span, w.counters, now, unpriced, subject_windows=count))
    if not out and not wanted and base is not None:
        # no subject has spent yet this period: the policy still shows, empty
        out.append(_status(policy, base, WindowCounters(), now, subject_windows=0))
    return out


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def window_history(
    ctx: EngineContext, policy_id: str, last: Any = 12, subject: Any = None
) -> list[PastWindow]:
    """The policy's ``last`` windows, newest first, with what each used against
    the policy's limits (the limits as they are now). For an ``each`` policy,
    ``subject`` ({"user": "alice"}) keeps the windows of those values."""
    limit, _ = v.page(last, 0, max_limit=1000)
    wanted = _subject_filter(subject)
    policy = get_policy(ctx, policy_id)
    with ctx.db.read() as tx:
        windows = tx.window_reads.history(policy.policy_id, wanted, limit)
    return [_past(policy, w) for w in windows]


def _past(policy: Policy, window: StoredWindow) -> PastWindow:
    used = window.counters
    fill = _fill(policy, used.used_tokens, used.used_nanos)
    key = window.key
    if window.superseded_at is not None:  # "~<id>:<key>": show the key it had
        key = key.partition(":")[2] or key
    return PastWindow(
        window=key,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        tokens_used=used.used_tokens,
        cost_used=nanos_to_usd(used.used_nanos),
        token_limit=policy.token_limit,
        cost_limit=policy.cost_limit,
        peak_fill=None if fill is None else fill.normalize(),
        superseded_at=window.superseded_at,
        subject=window.subject if isinstance(window.subject, dict) else None,
    )


def _fill(policy: Policy, tokens: int, nanos: int) -> Decimal | None:
    """The larger share of its limits that ``tokens`` and ``nanos`` fill (None: no limit)."""
    shares = []
    if policy.token_limit:
        shares.append(Decimal(tokens) / policy.token_limit)
    if policy.cost_limit_nanos:
        shares.append(Decimal(nanos) / policy.cost_limit_nanos)
    return round(max(shares), 4) if shares else None


def _unpriced(tx: Unit, policy: Policy, span: WindowSpan) -> tuple[int | None, int | None]:
    """Unpriced usage in a calendar or total window with a USD limit (None
    without one, and for session and task windows, which are not summed here)."""
    if policy.cost_limit_nanos is None or policy.period in (Period.PER_SESSION, Period.PER_TASK):
        return None, None
    return unpriced_in(tx, policy, span)


def _status(
    policy: Policy,
    span: WindowSpan,
    c: WindowCounters,
    now,
    unpriced=(None, None),
    subject_windows: int | None = None,
) -> WindowStatus:
    tokens_left = (
        None
        if policy.token_limit is None
        else max(policy.token_limit - c.used_tokens - c.reserved_tokens, 0)
    )
    cost_left = (
        None
        if policy.cost_limit_nanos is None
        else nanos_to_usd(max(policy.cost_limit_nanos - c.used_nanos - c.reserved_nanos, 0))
    )
    return WindowStatus(
        policy_id=policy.policy_id,
        policy_name=policy.name,
        policy_type=policy.type,
        period=policy.period,
        window=span.key,
        starts_at=span.starts_at,
        resets_at=span.ends_at,
        token_limit=policy.token_limit,
        tokens_used=c.used_tokens,
        tokens_reserved=c.reserved_tokens,
        tokens_remaining=tokens_left,
        cost_limit=policy.cost_limit,
        cost_used=nanos_to_usd(c.used_nanos),
        cost_reserved=nanos_to_usd(c.reserved_nanos),
        cost_remaining=cost_left,
        utilization=_fill(policy, c.used_tokens, c.used_nanos),
        state=policy.state(now),
        unpriced_records=unpriced[0],
        unpriced_tokens=unpriced[1],
        request_limit=policy.request_limit,
        requests_used=c.used_requests,
        subject=dict(span.subject) if policy.each else None,
        subject_windows=subject_windows,
    )
