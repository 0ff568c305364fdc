"""Time buckets of a report (hour, day, week from Monday, month) in an IANA timezone,
and how a time range splits between the rollups and the ledger.

Rollups hold whole UTC hours and whole UTC days. A local day, week or month
starts at a whole UTC hour in every zone whose offset is a whole number of
hours (DST included: the offset is looked up at each hour), so such buckets
are sums of rollup rows. Where a boundary falls inside an hour (half-hour
zones such as Asia/Kolkata, +05:30; range ends such as ``since=10:15``),
that hour is read from the ledger instead, split at the boundary: exact, and
only a few hours of records. A bucket label is an integer:

* hour: hours since 1970-01-01T00:00Z (the UTC hour; whole-hour zones);
* day: local days since 1970-01-01;  week: local weeks since Monday 1969-12-29;
* month: year * 12 + month - 1 of the local date.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from budget.domain.enums import Period
from budget.domain.periods import calendar_window, load_timezone
from budget.domain.rollups import EPOCH, Formula, LabelRule, Linear, epoch_hour
from budget.errors import ValidationError

KINDS = ("hour", "day", "week", "month")
_PERIOD = {
    "hour": Period.HOURLY,
    "day": Period.DAILY,
    "week": Period.WEEKLY,
    "month": Period.MONTHLY,
}
_SHORTEST = {"hour": 1, "day": 23, "week": 167, "month": 671}  # hours, DST included
MIN_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AT = datetime(2200, 1, 1, tzinfo=UTC)
MAX_BUCKETS = 10_000
MAX_LEDGER_PIECES = 2_000
EPOCH_DATE = date(1970, 1, 1)
MONDAY0 = date(1969, 12, 29)
# Added before integer division so that it only ever divides positive numbers.
_SHIFT = 1440 * 7 * 1000


@dataclass(frozen=True)
class Bucketing:
    """How instants map to buckets: a kind (None: one bucket) in a timezone."""

    kind: str | None
    timezone: str = "UTC"
    tz: ZoneInfo = field(default=ZoneInfo("UTC"), compare=False, repr=False)

    @classmethod
    def of(cls, kind: str | None, timezone: str) -> Bucketing:
        if kind is not None and kind not in KINDS:
            raise ValidationError("bucket", kind, "must be one of " + ", ".join(KINDS))
        return cls(kind, timezone, load_timezone(timezone))

    def label(self, at: datetime) -> int:
        """The bucket an instant falls in."""
        if self.kind is None:
            return 0
        if self.kind == "hour":
            return epoch_hour(calendar_window(Period.HOURLY, self.tz, at).starts_at)  # type: ignore[arg-type]
        local = at.astimezone(self.tz).date()
        if self.kind == "day":
            return (local - EPOCH_DATE).days
        if self.kind == "week":
            return (local - MONDAY0).days // 7
        return local.year * 12 + local.month - 1

    def bounds(self, label: int) -> tuple[datetime, datetime]:
        """A bucket's start and end (UTC)."""
        if self.kind == "hour":  # the local hour that starts within UTC hour ``label``
            inside = EPOCH + timedelta(hours=label, minutes=59)
            span = calendar_window(Period.HOURLY, self.tz, inside)
            return span.starts_at, span.ends_at  # type: ignore[return-value]
        if self.kind == "day":
            first = EPOCH_DATE + timedelta(days=label)
        elif self.kind == "week":
            first = MONDAY0 + timedelta(days=7 * label)
        elif self.kind == "month":
            first = date(label // 12, label % 12 + 1, 1)
        else:
            raise ValueError("a report without buckets has no bucket bounds")
        span = calendar_window(_PERIOD[self.kind], self.tz, _local_noon(first, self.tz))
        return span.starts_at, span.ends_at  # type: ignore[return-value]

    def starts_within(self, since: datetime, until: datetime) -> list[datetime]:
        """Bucket starts strictly inside (since, until), in order."""
        if self.kind is None:
            return []
        estimate = (until - since) / timedelta(hours=_SHORTEST[self.kind])
        if estimate > MAX_BUCKETS:
            raise ValidationError(
                "bucket",
                self.kind,
                f"{since.isoformat()} to {until.isoformat()} makes more than "
                f"{MAX_BUCKETS} {self.kind} buckets; use a shorter range or a longer bucket",
            )
        out = []
        span = calendar_window(_PERIOD[self.kind], self.tz, since)
        while span.ends_at is not None and span.ends_at < until:
            out.append(span.ends_at)
            span = calendar_window(_PERIOD[self.kind], self.tz, span.ends_at)
        return out


def _local_noon(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Piece:
    """Part of the range inside one bucket: [start, end) with its label."""

    start: datetime
    end: datetime
    label: int


@dataclass
class TimePlan:
    """Which hours come from hour rollups, which UTC days from day rollups,
    and which (sub-hour) pieces from the ledger."""

    hours: list[tuple[int, int]] = field(default_factory=list)
    days: list[tuple[int, int]] = field(default_factory=list)
    ledger: list[Piece] = field(default_factory=list)


def check_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """A valid report range: both given, since < until, within 1970-2200."""
    if since is None:
        raise ValidationError("since", since, "a report needs a start (since)")
    if until is None:
        raise ValidationError("until", until, "a report needs an end (until)")
    if until <= since:
        raise ValidationError("until", until.isoformat(), "must be after since")
    if since < MIN_AT:
        raise ValidationError("since", since.isoformat(), "reports start in 1970 or later")
    if until > MAX_AT:
        raise ValidationError("until", until.isoformat(), "reports end by 2200-01-01")
    return since, until


def plan(since: datetime, until: datetime, bucketing: Bucketing) -> TimePlan:
    """Split [since, until) into buckets, then each bucket between the sources."""
    edges = [since, *bucketing.starts_within(since, until), until]
    out = TimePlan()
    for start, end in itertools.pairwise(edges):
        _split(Piece(start, end, bucketing.label(start)), out)
    if len(out.ledger) > MAX_LEDGER_PIECES:
        raise ValidationError(
            "timezone",
            bucketing.timezone,
            f"{bucketing.kind} buckets in a zone whose offset is not whole hours cut "
            f"{len(out.ledger)} hours in two (at most {MAX_LEDGER_PIECES}); use a shorter "
            "range, longer buckets or a whole-hour timezone",
        )
    out.hours = _merge(out.hours)
    out.days = _merge(out.days)
    return out


def _split(piece: Piece, out: TimePlan) -> None:
    first = _ceil_hour(piece.start)
    last = epoch_hour(piece.end)  # floor
    if first >= last:
        out.ledger.append(piece)
        return
    if EPOCH + timedelta(hours=first) > piece.start:
        out.ledger.append(Piece(piece.start, EPOCH + timedelta(hours=first), piece.label))
    day_first, day_last = -(-first // 24) * 24, last // 24 * 24
    if day_first < day_last:
        out.hours += [(first, day_first), (day_last, last)]
        out.days.append((day_first, day_last))
    else:
        out.hours.append((first, last))
    tail = EPOCH + timedelta(hours=last)
    if tail < piece.end:
        out.ledger.append(Piece(tail, piece.end, piece.label))


def _ceil_hour(at: datetime) -> int:
    hour = epoch_hour(at)
    return hour if EPOCH + timedelta(hours=hour) == at else hour + 1


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def label_rule(bucketing: Bucketing, ranges: list[tuple[int, int]]) -> LabelRule:
    """How the label of a rollup row follows from its start hour (storage turns it into SQL).

    Valid for rows whose whole span lies in one bucket, which :func:`plan` ensures.
    """
    kind = bucketing.kind
    if kind is None:
        return LabelRule(0)
    if kind == "hour":
        return LabelRule(None)
    if not ranges:
        return LabelRule(0)
    first, last = ranges[0][0], ranges[-1][1]
    if kind == "month":
        return _month_rule(bucketing, first, last)
    segments = offset_segments(bucketing.tz, first, last)
    unit, extra = (1440, 0) if kind == "day" else (10080, 4320)

    def linear(offset: int) -> Formula:
        return Linear(offset + extra + _SHIFT, unit, _SHIFT // unit)

    cases = tuple((nxt, linear(off)) for (_, off), (nxt, _) in itertools.pairwise(segments))
    return LabelRule(linear(segments[-1][1]), cases)


def _month_rule(bucketing: Bucketing, first: int, last: int) -> LabelRule:
    since = EPOCH + timedelta(hours=first)
    until = EPOCH + timedelta(hours=last)
    starts = bucketing.starts_within(since, until)
    if not starts:
        return LabelRule(bucketing.label(since))
    labels = [bucketing.label(since), *(bucketing.label(s) for s in starts)]
    cases = tuple((_ceil_hour(start), label) for start, label in zip(starts, labels, strict=False))
    return LabelRule(labels[-1], cases)


def offset_segments(tz: ZoneInfo, first: int, last: int) -> list[tuple[int, int]]:
    """(first hour, UTC offset in minutes) of each stretch of constant offset in [first, last]."""

    def offset(hour: int) -> int:
        at = EPOCH + timedelta(hours=hour)
        return int(at.astimezone(tz).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

    segments = [(first, offset(first))]
    step_start = first
    while step_start < last:
        step_end = min(step_start + 24, last)
        if offset(step_end) != segments[-1][1]:
            low, high = step_start, step_end  # offset(low) == current, offset(high) differs
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if offset(mid) == segments[-1][1] else (low, mid)
            segments.append((high, offset(high)))
            step_start = high
            continue
        step_start = step_end
    return segments
