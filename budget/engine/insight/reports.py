"""Usage reports: spend and tokens over a range, grouped, bucketed, top N, CSV and JSON.

Every figure is a sum of rollup rows (and of the ledger for sub-hour pieces,
see :mod:`budget.engine.insight.buckets`), so totals equal the ledger's.
Unpriced usage is counted in ``records`` and the token fields, never in
``cost``; ``unpriced_records`` / ``unpriced_tokens`` show it apart on every
row, and the report lists the unpriced models.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from budget.domain import validation as v
from budget.domain.models import Policy
from budget.domain.rollups import ATTRIBUTES
from budget.engine.budgets import get_budget
from budget.engine.context import EngineContext
from budget.engine.insight import aggregate as agg
from budget.engine.insight.aggregate import GROUPS, Counters, Query
from budget.engine.insight.buckets import Bucketing, check_range, plan
from budget.engine.insight.pruned import refuse_pruned_pieces
from budget.engine.policies import list_policies
from budget.errors import ValidationError

if TYPE_CHECKING:
    from budget.storage.unit import Unit

FILTERS = (*ATTRIBUTES, "tag", "tags")
MAX_TOP = 1000
#: How a report treats corrections of the ledger (docs/corrections.md).
CORRECTIONS = ("include", "exclude", "only")
MAX_GROUPS = 4
COUNTER_COLUMNS = (
    "records",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost",
    "unpriced_records",
    "unpriced_tokens",
)


@dataclass(frozen=True)
class ReportRow:
    """One group in one bucket (bounds None when the report has no buckets)."""

    bucket_start: datetime | None
    bucket_end: datetime | None
    group: dict[str, str | None]
    usage: Counters

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket_start": _iso(self.bucket_start),
            "bucket_end": _iso(self.bucket_end),
            "group": dict(self.group),
            **self.usage.to_dict(),
        }


@dataclass(frozen=True)
class UnpricedModel:
    """A model whose usage in the range has no price: counted, not costed."""

    provider: str | None
    model: str | None
    records: int
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "records": self.records,
            "tokens": self.tokens,
        }


@dataclass(frozen=True)
class Report:
    """A usage report; ``total`` counts each record once, whatever the grouping."""

    since: datetime
    until: datetime
    group_by: tuple[str, ...]
    bucket: str | None
    timezone: str
    filters: dict[str, Any]
    budget_id: str | None
    top: int | None
    rows: tuple[ReportRow, ...]
    total: Counters
    others: Counters | None = None
    unpriced: tuple[UnpricedModel, ...] = ()
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    corrections: str = "include"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times ISO-8601, money as decimal strings."""
        return {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "group_by": list(self.group_by),
            "bucket": self.bucket,
            "timezone": self.timezone,
            "filters": dict(self.filters),
            "budget_id": self.budget_id,
            "top": self.top,
            "corrections": self.corrections,
            "rows": [r.to_dict() for r in self.rows],
            "total": self.total.to_dict(),
            "others": None if self.others is None else self.others.to_dict(),
            "unpriced": [u.to_dict() for u in self.unpriced],
            "names": {k: dict(v) for k, v in self.names.items()},
            "source": dict(self.source),
        }

    def to_csv(self) -> str:
        """The rows as CSV (and an ``(others)`` row when ``top`` left groups out)."""
        return report_csv(self.to_dict())


def report_csv(report: dict[str, Any]) -> str:
    """CSV of a report's JSON (``Report.to_dict()``): one line per row."""
    out = io.StringIO()
    names = report.get("names", {})
    named = [g for g in report["group_by"] if g in ("budget", "policy")]
    header = [
        "bucket_start",
        "bucket_end",
        *report["group_by"],
        *(f"{g}_name" for g in named),
        *COUNTER_COLUMNS,
    ]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in report["rows"]:
        group = row["group"]
        writer.writerow(
            [
                row["bucket_start"] or "",
                row["bucket_end"] or "",
                *(group.get(g) or "" for g in report["group_by"]),
                *(names.get(g, {}).get(group.get(g) or "", "") for g in named),
                *(row[c] for c in COUNTER_COLUMNS),
            ]
        )
    others = report.get("others")
    if others:
        marks = ["(others)"] * len(report["group_by"]) + [""] * len(named)
        writer.writerow(["", "", *marks, *(others[c] for c in COUNTER_COLUMNS)])
    return out.getvalue()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def usage_report(
    ctx: EngineContext,
    *,
    since: Any,
    until: Any,
    group_by: Any = (),
    bucket: str | None = None,
    timezone: str = "UTC",
    budget_id: str | None = None,
    top: Any = None,
    corrections: Any = "include",
    **filters: Any,
) -> Report:
    """Spend and tokens over [since, until), grouped and bucketed (see :class:`Report`).
    ``corrections``: ``include`` the voids and adjustments of the ledger (totals
    as the ledger stands), ``exclude`` them (as originally recorded), or ``only``."""
    start, end = check_range(
        v.instant("since", since, zone=timezone), v.instant("until", until, zone=timezone)
    )
    groups = parse_group_by(group_by)
    limit = _top(top)
    bucketing = Bucketing.of(bucket, timezone)
    attrs, tags = parse_filters(filters)
    budget_policies = None
    if budget_id is not None:
        get_budget(ctx, budget_id)
        budget_policies = tuple(list_policies(ctx, budget_id))
    policies = tuple(list_policies(ctx)) if {"budget", "policy"} & set(groups) else ()
    if corrections not in CORRECTIONS:
        raise ValidationError(
            "corrections", corrections, "must be one of " + ", ".join(CORRECTIONS)
        )
    query = Query(
        start, end, bucketing, groups, attrs, tags, budget_policies, policies, None, corrections
    )
    time = plan(start, end, bucketing)
    with ctx.db.read() as tx:
        refuse_pruned_pieces(tx, time, start, end, timezone)
        result = agg.run(tx, query, time)
        total = result.totals
        if result.cube == "tag" and "tag" in groups:  # rows per tag: count records once
            total = agg.run(tx, _replace(query, group_by=()), time).totals
        unpriced = _unpriced(tx, query) if total.unpriced_records else ()
        names = _names(tx, groups, policies)
    rows, others = _rows(result.groups, bucketing, start, end, groups, limit)
    shown = {**attrs, **_tags_shown(tags)}
    return Report(
        since=start,
        until=end,
        group_by=groups,
        bucket=bucket,
        timezone=timezone,
        filters=shown,
        budget_id=budget_id,
        top=limit,
        rows=rows,
        total=total,
        others=others,
        unpriced=unpriced,
        names=names,
        corrections=corrections,
        source={
            "cube": result.cube,
            "rollup_rows": result.rollup_rows,
            "ledger_pieces": result.ledger_pieces,
        },
    )


def parse_group_by(group_by: Any) -> tuple[str, ...]:
    """Group dimensions from a list (or a comma-separated string).

    ``model`` groups by provider and model: a model id names a model only
    within its platform (``gpt-4o`` at openai and at azure are two rows, billed
    apart), so ``provider`` is added just before ``model`` when not asked for.
    """
    if group_by is None:
        return ()
    items = group_by.split(",") if isinstance(group_by, str) else list(group_by)
    out: list[str] = []
    for item in items:
        name = item.strip() if isinstance(item, str) else item
        if name == "":
            continue
        if name not in GROUPS:
            raise ValidationError("group_by", item, "must be one of " + ", ".join(GROUPS))
        if name in out:
            raise ValidationError("group_by", item, "appears twice")
        out.append(name)
    if len(out) > MAX_GROUPS:
        raise ValidationError("group_by", items, f"at most {MAX_GROUPS} dimensions")
    if "model" in out and "provider" not in out:
        out.insert(out.index("model"), "provider")
    return tuple(out)


def parse_filters(filters: dict[str, Any]) -> tuple[dict[str, str], frozenset[str]]:
    """Attribute filters (equal to the value) and the tags a record must all carry."""
    attrs: dict[str, str] = {}
    tags: set[str] = set()
    for name, value in filters.items():
        if name not in FILTERS:
            raise ValidationError(name, value, "not a report filter; use " + ", ".join(FILTERS))
        if value is None:
            continue
        if name in ("tag", "tags"):
            tags |= v.tag_set(name, value)
            continue
        text = v.text(name, value, max_len=200)
        if text is not None:
            attrs[name] = text.lower() if name in ("provider", "model") else text
    return attrs, frozenset(tags)


def _tags_shown(tags: frozenset[str]) -> dict[str, Any]:
    return {"tags": sorted(tags)} if tags else {}


def _top(top: Any) -> int | None:
    if top is None:
        return None
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ValidationError("top", top, f"must be a whole number from 1 to {MAX_TOP}")
    return top


def _replace(query: Query, **changes: Any) -> Query:
    from dataclasses import replace

    return replace(query, **changes)


def _rows(
    groups: dict[tuple[int, tuple], Counters],
    bucketing: Bucketing,
    since: datetime,
    until: datetime,
    names: tuple[str, ...],
    top: int | None,
) -> tuple[tuple[ReportRow, ...], Counters | None]:
    kept, others = _keep_top(groups, top)
    bounds: dict[int, tuple[datetime | None, datetime | None]] = {}
    rows = []
    for (label, key), usage in groups.items():
        if kept is not None and key not in kept:
            continue
        span = bounds.get(label)
        if span is None:
            span = bounds[label] = _bounds(bucketing, label, since, until)
        row = ReportRow(span[0], span[1], dict(zip(names, key, strict=True)), usage)
        order = tuple((v is None, v or "") for v in key)
        rows.append((label, -usage.cost_nanos, -usage.total_tokens, order, row))
    rows.sort(key=lambda x: x[:4])
    return tuple(x[4] for x in rows), others


def _bounds(
    bucketing: Bucketing, label: int, since: datetime, until: datetime
) -> tuple[datetime | None, datetime | None]:
    if bucketing.kind is None:
        return None, None
    start, end = bucketing.bounds(label)
    return max(start, since), min(end, until)


def _keep_top(
    groups: dict[tuple[int, tuple], Counters], top: int | None
) -> tuple[set[tuple] | None, Counters | None]:
    """The groups to show (None: all) and the others summed."""
    if top is None:
        return None, None
    per_group: dict[tuple, Counters] = {}
    for (_, key), usage in groups.items():
        per_group.setdefault(key, Counters()).merge(usage)
    if len(per_group) <= top:
        return None, None
    ranked = sorted(
        per_group,
        key=lambda k: (-per_group[k].cost_nanos, -per_group[k].total_tokens, str(k)),
    )
    others = Counters()
    for key in ranked[top:]:
        others.merge(per_group[key])
    return set(ranked[:top]), others


def _unpriced(tx: Unit, query: Query) -> tuple[UnpricedModel, ...]:
    whole = Bucketing.of(None, "UTC")
    sub = _replace(query, group_by=("provider", "model"), priced=False, bucketing=whole)
    result = agg.run(tx, sub, plan(query.since, query.until, whole))
    found = [
        UnpricedModel(key[0], key[1], usage.records, usage.total_tokens)
        for (_, key), usage in result.groups.items()
        if usage.records
    ]
    return tuple(sorted(found, key=lambda u: (-u.tokens, u.provider or "", u.model or "")))


def _names(
    tx: Unit, groups: tuple[str, ...], policies: tuple[Policy, ...]
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if "policy" in groups:
        out["policy"] = {p.policy_id: p.name for p in policies}
    if "budget" in groups:
        out["budget"] = tx.reports.budget_names({p.budget_id for p in policies})
    return out
