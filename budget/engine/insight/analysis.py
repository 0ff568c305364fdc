"""Usage analysis: the trend (rising, flat, falling) and the spikes of each group's spend.

Each group (a model, a component …) gets a series of its spend per bucket
(hours for ranges up to three days, else days), from the group's first bucket
with usage to the end of the range, zeros included: the buckets before a
group's first usage are not spend of zero (a model first used mid-range is not
"rising" from nothing), so they are left out and ``series_start`` says where
the series begins:

* trend: the least-squares slope over the buckets, as the change it implies
  across the range relative to the mean (``slope * (n - 1) / mean``); rising
  at +20 % or more, falling at -20 % or less, else flat;
* spike: a bucket at least twice the median and either 3.5 robust standard
  deviations above it (``(y - median) / (1.4826 * MAD)``) or, when the series
  has no spread (MAD = 0), at least three times the larger of median and mean;
  and rare: when more than 10 % of the buckets qualify, the series changed
  level rather than spiked, and the trend reports it.

Cost is analysed where the group has priced spend; tokens otherwise
(unpriced models). Every finding carries the numbers behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from statistics import median
from typing import Any

from budget.domain import validation as v
from budget.domain.money import nanos_to_usd
from budget.engine.context import EngineContext
from budget.engine.insight.aggregate import GROUPS, Counters
from budget.engine.insight.buckets import Bucketing, check_range
from budget.engine.insight.reports import usage_report
from budget.errors import ValidationError

TREND_THRESHOLD = Decimal("0.2")
SPIKE_Z = Decimal("3.5")
SPIKE_RATIO = Decimal(2)
FLAT_SPIKE_RATIO = Decimal(3)
MAD_SCALE = Decimal("1.4826")
MAX_SPIKE_SHARE = Decimal("0.1")
HOURLY_UP_TO = timedelta(days=3)
MIN_POINTS = 3


@dataclass(frozen=True)
class Finding:
    """A trend or a spike of one group, with the numbers behind it."""

    kind: str  # "trend" or "spike"
    dimension: str
    group: str | None
    metric: str  # "cost" (USD) or "tokens"
    direction: str  # rising / flat / falling; a spike is "up"
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings, times ISO-8601."""
        return {
            "kind": self.kind,
            "dimension": self.dimension,
            "group": self.group,
            "metric": self.metric,
            "direction": self.direction,
            "summary": self.summary,
            "numbers": {k: _json(x) for k, x in self.numbers.items()},
        }


def _json(x: Any) -> Any:
    if isinstance(x, Decimal):
        return format(x, "f")
    if isinstance(x, datetime):
        return x.isoformat()
    return x


def analyze_usage(
    ctx: EngineContext, *, since: Any, until: Any, by: str = "model", timezone: str = "UTC"
) -> list[Finding]:
    """Trend and spikes per group of ``by`` over [since, until), biggest spenders first."""
    start, end = check_range(
        v.instant("since", since, zone=timezone), v.instant("until", until, zone=timezone)
    )
    if by not in GROUPS:
        raise ValidationError("by", by, "must be one of " + ", ".join(GROUPS))
    kind = "hour" if end - start <= HOURLY_UP_TO else "day"
    report = usage_report(
        ctx, since=start, until=end, group_by=[by], bucket=kind, timezone=timezone
    )
    bucketing = Bucketing.of(kind, timezone)
    labels = [bucketing.label(x) for x in [start, *bucketing.starts_within(start, end)]]
    position = {label: i for i, label in enumerate(labels)}
    series: dict[str | None, dict[int, Counters]] = {}
    for row in report.rows:
        label = bucketing.label(row.bucket_start)  # type: ignore[arg-type]
        series.setdefault(row.group[by], {})[label] = row.usage
    findings: list[tuple[int, list[Finding]]] = []
    for group, points in series.items():
        total = Counters()
        for usage in points.values():
            total.merge(usage)
        metric = "cost" if total.cost_nanos else "tokens"
        used = labels[min(position[label] for label in points) :]
        values = [_value(points.get(label), metric) for label in used]
        if len(values) < MIN_POINTS:
            continue
        bounds = [_clip(bucketing.bounds(label), start, end) for label in used]
        found = [trend(by, group, metric, values, kind, bounds[0][0])]
        found += spikes(by, group, metric, values, bounds)
        weight = total.cost_nanos or total.total_tokens
        findings.append((weight, found))
    findings.sort(key=lambda x: -x[0])
    return [f for _, group in findings for f in group]


def _clip(bounds: tuple[datetime, datetime], start: datetime, end: datetime):
    return max(bounds[0], start), min(bounds[1], end)


def _value(usage: Counters | None, metric: str) -> Decimal:
    if usage is None:
        return Decimal(0)
    return nanos_to_usd(usage.cost_nanos) if metric == "cost" else Decimal(usage.total_tokens)


def trend(
    by: str,
    group: str | None,
    metric: str,
    values: list[Decimal],
    kind: str,
    series_start: datetime | None = None,
) -> Finding:
    """The least-squares trend of a series (see the module's docstring)."""
    n = len(values)
    mean = sum(values) / n
    x_mean = Decimal(n - 1) / 2
    denominator = sum((Decimal(i) - x_mean) ** 2 for i in range(n))
    slope = sum((Decimal(i) - x_mean) * (y - mean) for i, y in enumerate(values)) / denominator
    change = slope * (n - 1) / mean if mean else Decimal(0)
    direction = (
        "rising"
        if change >= TREND_THRESHOLD
        else "falling"
        if change <= -TREND_THRESHOLD
        else "flat"
    )
    half = n // 2
    first, second = sum(values[:half]) / half, sum(values[n - half :]) / half
    unit = "USD" if metric == "cost" else "tokens"
    summary = (
        f"{by} {group or '(none)'}: {metric} {direction} "
        f"({_pct(change)} over {n} {kind}s; {_text(first)} -> {_text(second)} {unit} per {kind})"
    )
    return Finding(
        "trend",
        by,
        group,
        metric,
        direction,
        summary,
        {
            "buckets": n,
            "bucket": kind,
            "series_start": series_start,
            "total": _num(sum(values)),
            "mean_per_bucket": _num(mean),
            "first_half_mean": _num(first),
            "second_half_mean": _num(second),
            "slope_per_bucket": _num(slope),
            "change": _num(change, "0.0001"),
        },
    )


def spikes(
    by: str,
    group: str | None,
    metric: str,
    values: list[Decimal],
    bounds: list[tuple[datetime, datetime]],
) -> list[Finding]:
    """The buckets that stand out from the series' median (see the module's docstring)."""
    base = Decimal(median(values))
    mad = Decimal(median([abs(y - base) for y in values]))
    mean = sum(values) / len(values)
    found = []
    for y, bound in zip(values, bounds, strict=True):
        if y <= 0 or y < SPIKE_RATIO * base:
            continue
        score = (y - base) / (MAD_SCALE * mad) if mad > 0 else None
        if (score is not None and score < SPIKE_Z) or (
            score is None and y < FLAT_SPIKE_RATIO * max(base, mean)
        ):
            continue
        found.append((y, bound, score))
    if len(found) > max(1, len(values) * MAX_SPIKE_SHARE):
        return []  # not rare: a sustained change, which the trend reports
    out = []
    for y, (start, end), score in found:
        ratio = y / base if base else None
        unit = "USD" if metric == "cost" else "tokens"
        times = (
            f"{_text(ratio, '0.1')}x the median of {_text(base)}"
            if ratio
            else "against a median of 0"
        )
        out.append(
            Finding(
                "spike",
                by,
                group,
                metric,
                "up",
                f"{by} {group or '(none)'}: {metric} spike of {_text(y)} {unit} at "
                f"{start.isoformat()} ({times})",
                {
                    "bucket_start": start,
                    "bucket_end": end,
                    "value": _num(y),
                    "median": _num(base),
                    "mad": _num(mad),
                    "robust_z": None if score is None else _num(score, "0.01"),
                    "ratio": None if ratio is None else _num(ratio, "0.01"),
                },
            )
        )
    return out


def _num(x: Decimal | None, places: str = "0.000000001") -> Decimal | None:
    if x is None:
        return None
    if not x:
        return Decimal(0)
    try:
        return x.quantize(Decimal(places)).normalize()
    except InvalidOperation:  # too many digits for the places asked: keep it as it is
        return x.normalize()


def _text(x: Decimal | None, places: str = "0.000000001") -> str:
    return format(_num(x, places), "f")


def _pct(share: Decimal) -> str:
    return f"{'+' if share >= 0 else ''}{(share * 100).quantize(Decimal('0.1'))}%"
