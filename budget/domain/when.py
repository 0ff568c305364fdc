"""Times as people type them: the one parser behind every ``since``, ``until``,
``at`` and the like, in the library, the REST API and the CLI.

Accepted (case and surrounding spaces do not matter):

- an ISO-8601 date-time, ``2026-11-29T12:00:00Z`` or ``2026-11-29 12:00+01:00``;
  one without an offset is UTC (as it always was);
- an ISO-8601 date, ``2026-11-29``: its midnight in ``zone``;
- ``now``; ``today`` and ``yesterday``: the midnight that starts that day in ``zone``;
- an age, ``30m``, ``24h``, ``7d``, ``2w`` (minutes, hours, days, weeks) before
  now; ``+2h`` is after now. Minutes and hours are exact durations; days and
  weeks are calendar days in ``zone`` (``1d`` across a DST change is 23 or 25
  hours: the same wall-clock time the day before).

``zone`` is an IANA name (a report's or analysis' ``timezone``); without one it
is UTC. A wall-clock time a DST change skips or repeats is read with the offset
in force before the change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from budget.clock import utcnow
from budget.errors import ValidationError

EXPECTED = (
    "must be an ISO-8601 date or date-time (2026-11-29, 2026-11-29T12:00:00Z), "
    "now, today, yesterday, or an age such as 30m, 24h, 7d, 2w"
)
_AGE = re.compile(r"^(?P<sign>[+-]?)\s*(?P<count>\d{1,6})\s*(?P<unit>[mhdw])$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}")  # text is lower-cased
_EXACT = {"m": timedelta(minutes=1), "h": timedelta(hours=1)}
_DAYS = {"d": 1, "w": 7}


def zone_of(field: str, name: str | None) -> tzinfo:
    """The IANA zone ``name`` (UTC when None); an unknown name names ``field``."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", name, f"not an IANA timezone (for {field})") from None


def parse(
    field: str, text: str, *, zone: str | None = None, now: datetime | None = None
) -> datetime:
    """The moment ``text`` names (aware; see the module for the forms), with
    ``now`` (default: the clock) as the reference of ``now``, ``today`` and ages."""
    value = text.strip().lower() if isinstance(text, str) else text
    if not isinstance(value, str) or not value:
        raise ValidationError(field, text, EXPECTED)
    tz = zone_of(field, zone)
    reference = now if now is not None else utcnow()
    try:
        moment = _named(value, tz, reference) or _age(value, tz, reference) or _iso(value, tz)
    except OverflowError:
        raise ValidationError(field, text, "is too far from now") from None
    if moment is None:
        raise ValidationError(field, text, EXPECTED)
    return moment


def _named(value: str, tz: tzinfo, now: datetime) -> datetime | None:
    if value == "now":
        return now
    if value in ("today", "yesterday"):
        day = now.astimezone(tz).date() - timedelta(days=1 if value == "yesterday" else 0)
        return midnight(day, tz)
    return None


def _age(value: str, tz: tzinfo, now: datetime) -> datetime | None:
    match = _AGE.match(value)
    if match is None:
        return None
    count, unit = int(match["count"]), match["unit"]
    sign = 1 if match["sign"] == "+" else -1
    if unit in _EXACT:
        return now + sign * count * _EXACT[unit]
    wall = now.astimezone(tz).replace(tzinfo=None) + sign * timedelta(days=count * _DAYS[unit])
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _iso(value: str, tz: tzinfo) -> datetime | None:
    if _DATE_ONLY.match(value):
        try:
            return midnight(date.fromisoformat(value), tz)
        except ValueError:
            return None
    if not _ISO_START.match(value):
        return None  # no epochs, week dates or ordinal dates: only what people mean
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def midnight(day: date, tz: tzinfo) -> datetime:
    """The start of ``day`` in ``tz``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
