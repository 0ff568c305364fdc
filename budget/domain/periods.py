"""Calendar-aligned windows: which period instance an instant falls in.

A window is keyed by its start, so a new period is simply a new key and no
background job has to reset anything. Calendar periods are computed in the
policy's IANA timezone, so a daily window in Europe/Berlin starts at local
midnight and lasts 23 or 25 hours on DST days.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from budget.domain.enums import Period
from budget.domain.limits import ID_LENGTH
from budget.errors import ValidationError

CALENDAR_PERIODS = frozenset(
    {Period.MINUTE, Period.HOURLY, Period.DAILY, Period.WEEKLY, Period.MONTHLY}
)


@dataclass(frozen=True)
class WindowSpan:
    """One period instance: its key and its bounds in UTC (None when unbounded).

    A policy with ``each`` keeps one window per subject inside a period
    instance: its key is the period's key followed by the subject's values
    (``2026-12-02|{"user":"alice"}``), and ``period_key`` keeps the first part.
    """

    key: str
    starts_at: datetime | None
    ends_at: datetime | None
    #: The ``each`` values this window counts (empty: the policy's one window).
    subject: tuple[tuple[str, str], ...] = ()
    period_key: str = ""

    @property
    def period(self) -> str:
        """The key of the period instance, without the subject."""
        return self.period_key or self.key

    def for_subject(self, subject: tuple[tuple[str, str], ...]) -> WindowSpan:
        """The same period instance, for one subject of an ``each`` policy."""
        if not subject:
            return self
        return replace(
            self, key=subject_key(self.key, subject), subject=subject, period_key=self.key
        )


def subject_key(period_key: str, subject: tuple[tuple[str, str], ...]) -> str:
    """A window key for one subject: readable JSON of its values (which cannot
    collide), or their SHA-256 when that would not fit the column."""
    values = json.dumps(dict(subject), ensure_ascii=False, separators=(",", ":"))
    key = f"{period_key}|{values}"
    if len(key) <= ID_LENGTH:
        return key
    digest = hashlib.sha256(f"{period_key}|{values}".encode()).hexdigest()
    return f"{period_key[: ID_LENGTH - len(digest) - 2]}|#{digest}"


def load_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    """An IANA timezone by name, or a ValidationError naming it."""
    if not isinstance(name, str) or not name:
        raise ValidationError(field, name, "must be an IANA timezone name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(field, name, "unknown IANA timezone") from None


def calendar_window(period: Period, tz: ZoneInfo, at: datetime) -> WindowSpan:
    """The minute / hourly / daily / weekly (Monday) / monthly window containing ``at``."""
    if at.tzinfo is None:
        raise ValueError("calendar_window needs an aware datetime")
    local = at.astimezone(tz)
    if period is Period.MINUTE:
        start = at.astimezone(UTC).replace(second=0, microsecond=0)
        return WindowSpan(start.strftime("%Y-%m-%dT%H:%MZ"), start, start + timedelta(minutes=1))
    if period is Period.HOURLY:
        start_local = local.replace(minute=0, second=0, microsecond=0)
        start = start_local.astimezone(UTC)
        # Absolute hour: correct across DST folds, where one wall hour happens twice.
        end = start + timedelta(hours=1)
        return WindowSpan(start.strftime("%Y-%m-%dT%H:%MZ"), start, end)
    if period is Period.DAILY:
        day = local.date()
        start_day, end_day = day, day + timedelta(days=1)
        key = day.isoformat()
    elif period is Period.WEEKLY:
        start_day = local.date() - timedelta(days=local.weekday())
        end_day = start_day + timedelta(days=7)
        iso = start_day.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}"
    elif period is Period.MONTHLY:
        start_day = local.date().replace(day=1)
        end_day = (start_day + timedelta(days=32)).replace(day=1)
        key = start_day.strftime("%Y-%m")
    else:
        raise ValueError(f"{period} is not a calendar period")
    return WindowSpan(key, _local_midnight_utc(start_day, tz), _local_midnight_utc(end_day, tz))


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` starts in ``tz``.

    fold=0 resolves both DST cases right: where local midnight happens twice,
    the first one; where it does not exist (a gap at 00:00), the instant of the
    jump, which is the first instant of that day.
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def window_for(
    period: Period,
    tz: ZoneInfo,
    at: datetime,
    *,
    session_id: str | None = None,
    task_id: str | None = None,
) -> WindowSpan | None:
    """The window of a policy for one request; None when it does not apply.

    per_session and per_task windows are keyed by the session or task id and
    never reset; a request without that id is outside such a policy.
    """
    if period in CALENDAR_PERIODS:
        return calendar_window(period, tz, at)
    if period is Period.TOTAL:
        return WindowSpan("total", None, None)
    if period is Period.PER_SESSION:
        return WindowSpan(f"session:{session_id}", None, None) if session_id else None
    if period is Period.PER_TASK:
        return WindowSpan(f"task:{task_id}", None, None) if task_id else None
    raise ValueError(f"unknown period {period!r}")
