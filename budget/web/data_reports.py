"""The figures of the overview and of the spend page.

Every figure is a usage report from :meth:`BudgetService.usage_report`, the
call behind ``GET /api/v1/reports/usage``, with the arguments kept beside it
(``since``, ``until``, ...), so the same request to the API gives the same
totals. Reports read the rollups, so these pages stay fast on a large ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

from budget.clock import utcnow
from budget.domain.periods import load_timezone
from budget.engine.insight.buckets import Bucketing
from budget.engine.service import BudgetService
from budget.errors import ValidationError

DIMENSIONS = ("model", "provider", "component", "project", "user", "tag", "budget", "api_key")
BUCKETS = ("hour", "day", "week")
RANGES = {"1": "last 24 hours", "7": "last 7 days", "30": "last 30 days", "90": "last 90 days"}
METRICS = ("cost", "total_tokens")
TOP_MODELS = 5
PERIOD_LABELS = {
    "today": ("Today", "yesterday by this time"),
    "week": ("This week", "last week by this time"),
    "month": ("This month", "last month by this time"),
}


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _month_start(day: date, back: int = 0) -> date:
    month = day.year * 12 + day.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def period_ranges(now: datetime, tz: ZoneInfo) -> dict[str, tuple[datetime, ...]]:
    """For today, this week (from Monday) and this month in ``tz``: the period
    [start, end) and the previous period up to the same elapsed time."""
    today = now.astimezone(tz).date()
    starts = {
        "today": (_midnight(today, tz), _midnight(today + timedelta(days=1), tz)),
        "week": (
            _midnight(today - timedelta(days=today.weekday()), tz),
            _midnight(today + timedelta(days=7 - today.weekday()), tz),
        ),
        "month": (_midnight(_month_start(today), tz), _midnight(_month_start(today, -1), tz)),
    }
    previous = {
        "today": _midnight(today - timedelta(days=1), tz),
        "week": _midnight(today - timedelta(days=today.weekday() + 7), tz),
        "month": _midnight(_month_start(today, 1), tz),
    }
    out = {}
    for name, (start, end) in starts.items():
        before = previous[name]
        until = min(before + (now - start), start)
        out[name] = (start, end, before, until)
    return out


def change(current: str, previous: str) -> Decimal | None:
    """The relative change from ``previous`` (None when there was nothing before)."""
    before = Decimal(previous)
    if before == 0:
        return None
    return (Decimal(current) - before) / before


def overview(svc: BudgetService, budget_id: str | None, zone: str) -> dict[str, Any]:
    """Spend today, this week and this month against the previous period, the
    unpriced usage apart, this month's top models, and how many alerts are open."""
    tz = load_timezone(zone)
    now = utcnow()
    periods = []
    for name, (start, end, before, until) in period_ranges(now, tz).items():
        report = svc.usage_report(
            since=start, until=end, group_by=[], timezone=zone, budget_id=budget_id
        ).to_dict()
        earlier = svc.usage_report(
            since=before, until=until, group_by=[], timezone=zone, budget_id=budget_id
        ).to_dict()
        label, compared = PERIOD_LABELS[name]
        periods.append(
            {
                "name": name,
                "label": label,
                "compared_to": compared,
                "since": start,
                "until": end,
                "previous_since": before,
                "previous_until": until,
                "total": report["total"],
                "previous": earlier["total"],
                "change": change(report["total"]["cost"], earlier["total"]["cost"]),
                "unpriced": report["unpriced"],
            }
        )
    month = periods[-1]
    models = svc.usage_report(
        since=month["since"],
        until=month["until"],
        group_by=["provider", "model"],
        timezone=zone,
        budget_id=budget_id,
        top=TOP_MODELS,
    ).to_dict()
    alerts = svc.list_alerts(budget_id=budget_id, acknowledged=False, limit=1)
    return {
        "as_of": now,
        "timezone": zone,
        "periods": periods,
        "top_models": models,
        "open_alerts": alerts.total,  # type: ignore[attr-defined]
    }


@dataclass(frozen=True)
class SpendQuery:
    """What the spend page shows: a range, a dimension, buckets, a zone, the top N."""

    by: str = "model"
    bucket: str = "day"
    zone: str = "UTC"
    days: str = "7"
    top: int = 10
    metric: str = "cost"
    budget_id: str | None = None

    def checked(self) -> SpendQuery:
        """Itself, or a ValidationError naming the first field out of its choices."""
        for field, value, allowed in (
            ("by", self.by, DIMENSIONS),
            ("bucket", self.bucket, BUCKETS),
            ("days", self.days, tuple(RANGES)),
            ("metric", self.metric, METRICS),
        ):
            if value not in allowed:
                raise ValidationError(field, value, "must be one of " + ", ".join(allowed))
        if not 1 <= self.top <= 50:
            raise ValidationError("top", self.top, "must be from 1 to 50")
        load_timezone(self.zone)
        return self

    def range(self, now: datetime) -> tuple[datetime, datetime]:
        """[since, until): whole buckets ending with the current one, in the zone."""
        tz = load_timezone(self.zone)
        local = now.astimezone(tz)
        if self.bucket == "hour":
            until = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            return until - timedelta(days=int(self.days)), until
        until = _midnight(local.date() + timedelta(days=1), tz)
        return _midnight(local.date() - timedelta(days=int(self.days) - 1), tz), until

    def report_arguments(self, now: datetime) -> dict[str, Any]:
        """The arguments of the table's report (the chart's adds ``bucket``)."""
        since, until = self.range(now)
        return {
            "since": since,
            "until": until,
            "group_by": [self.by],
            "timezone": self.zone,
            "top": self.top,
            "budget_id": self.budget_id,
        }


def api_query(arguments: dict[str, Any]) -> str:
    """The query string of ``GET /api/v1/reports/usage`` for the same report."""
    pairs: list[tuple[str, Any]] = [
        ("since", arguments["since"].isoformat()),
        ("until", arguments["until"].isoformat()),
        *(("group_by", g) for g in arguments["group_by"]),
        ("timezone", arguments["timezone"]),
        ("top", arguments["top"]),
    ]
    if arguments.get("bucket"):
        pairs.append(("bucket", arguments["bucket"]))
    if arguments.get("budget_id"):
        pairs.append(("budget_id", arguments["budget_id"]))
    return urlencode(pairs)


def group_label(report: dict[str, Any], by: str, group: dict[str, str | None]) -> str:
    value = group.get(by)
    if value is None:
        return "(none)"
    return report["names"].get(by, {}).get(value, value)


def spend(svc: BudgetService, query: SpendQuery) -> dict[str, Any]:
    """The top-N table over the range and the chart's series per bucket (the same
    N groups, stacked), each from one usage report."""
    now = utcnow()
    arguments = query.report_arguments(now)
    table = svc.usage_report(**arguments).to_dict()
    chart_arguments = {**arguments, "bucket": query.bucket}
    chart = svc.usage_report(**chart_arguments).to_dict()
    return {
        "query": query,
        "arguments": arguments,
        "api_query": api_query(arguments),
        "api_query_text": unquote(api_query(arguments)),
        "table": table,
        "rows": [
            {"label": group_label(table, query.by, row["group"]), **row} for row in table["rows"]
        ],
        "chart": chart_series(chart, table, query),
    }


def chart_series(chart: dict[str, Any], table: dict[str, Any], query: SpendQuery) -> dict:
    """Bucket labels and one dataset per group of the table, in the table's order."""
    since, until = datetime.fromisoformat(chart["since"]), datetime.fromisoformat(chart["until"])
    bucketing = Bucketing.of(query.bucket, query.zone)
    starts = [since, *bucketing.starts_within(since, until)]
    tz = load_timezone(query.zone)
    labels = [_bucket_label(s.astimezone(tz), query.bucket) for s in starts]
    index = {s: i for i, s in enumerate(starts)}
    datasets: dict[str, dict[str, Any]] = {}
    for row in table["rows"]:
        label = group_label(table, query.by, row["group"])
        datasets[label] = {"label": label, "data": [0] * len(starts)}
    for row in chart["rows"]:
        label = group_label(chart, query.by, row["group"])
        if label in datasets:
            at = datetime.fromisoformat(row["bucket_start"])
            datasets[label]["data"][index[at]] = float(row[query.metric])
    return {"labels": labels, "datasets": list(datasets.values()), "metric": query.metric}


def _bucket_label(start: datetime, bucket: str) -> str:
    if bucket == "hour":
        return start.strftime("%m-%d %H:00")
    return start.strftime("%Y-%m-%d")
