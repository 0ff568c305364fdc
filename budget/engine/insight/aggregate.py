"""Sum usage over a time range by any dimensions: rollups for whole hours and
days, the ledger for the sub-hour pieces, one fold in Python.

A query names its group dimensions, attribute filters, required tags and,
for budget and policy grouping or a budget filter, the policies whose scopes
decide which usage belongs where (the rule ``usage list --budget`` uses: a
budget's usage is what its policies' scopes cover). The smallest cube that
holds every dimension involved is read; SQL sums it per bucket and per those
dimensions; Python then applies what SQL cannot (tag subsets, scopes) and
spreads each row over its groups (a record with two tags is in both tag groups).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget.domain.models import SCOPE_FIELDS, Policy
from budget.domain.money import nanos_to_usd
from budget.domain.rollups import ATTRIBUTES, COLUMNS, CUBES, Selection, SumRow
from budget.engine.insight.buckets import Bucketing, TimePlan, label_rule

if TYPE_CHECKING:
    from budget.storage.unit import Unit

GROUPS = (*ATTRIBUTES, "tag", "budget", "policy")
#: Cubes from the smallest to the widest, for attribute sets.
_ORDER = ("model", "user", "work", "full")


@dataclass(slots=True)
class Counters:
    """Usage summed: all records and tokens; cost of the priced ones; the unpriced apart."""

    records: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nanos: int = 0
    unpriced_records: int = 0
    unpriced_tokens: int = 0

    def add(self, priced: bool, values: tuple[int, ...]) -> None:
        records, inp, out, cached, written, reasoning, cost = values
        self.records += records
        self.input_tokens += inp
        self.output_tokens += out
        self.cached_input_tokens += cached
        self.cache_write_tokens += written
        self.reasoning_tokens += reasoning
        self.cost_nanos += cost
        if not priced:
            self.unpriced_records += records
            self.unpriced_tokens += inp + out

    def merge(self, other: Counters) -> None:
        self.records += other.records
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost_nanos += other.cost_nanos
        self.unpriced_records += other.unpriced_records
        self.unpriced_tokens += other.unpriced_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost(self) -> Decimal:
        return nanos_to_usd(self.cost_nanos)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, money as a decimal string."""
        return {
            "records": self.records,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "cost": format(self.cost, "f"),
            "unpriced_records": self.unpriced_records,
            "unpriced_tokens": self.unpriced_tokens,
        }


@dataclass(frozen=True)
class Query:
    """What to sum: a range, groups, filters and the policies scopes come from."""

    since: datetime
    until: datetime
    bucketing: Bucketing
    group_by: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    budget_policies: tuple[Policy, ...] | None = None  # a budget filter
    policies: tuple[Policy, ...] = ()  # for budget / policy grouping
    priced: bool | None = None
    #: ``include``: the ledger as it stands (usage and its corrections);
    #: ``exclude``: as originally recorded; ``only``: the corrections alone.
    corrections: str = "include"


@dataclass
class Result:
    """Counters per (bucket label, group key), and the totals (each record once)."""

    groups: dict[tuple[int, tuple], Counters]
    totals: Counters
    cube: str
    rollup_rows: int = 0
    ledger_pieces: int = 0


@dataclass(frozen=True)
class _Plan:
    cube: str
    attrs: tuple[str, ...]
    with_tags: bool
    tag_equals: str | None


def run(tx: Unit, query: Query, time: TimePlan) -> Result:
    """Sum the usage ``query`` asks for over the pieces of ``time``."""
    plan = _plan(query)
    result = Result({}, Counters(), plan.cube)
    rows = list(_rollup_rows(tx, query, plan, time))
    result.rollup_rows = len(rows)
    result.ledger_pieces = len(time.ledger)
    if time.ledger:
        pieces = [(p.start, p.end, p.label) for p in time.ledger]
        rows.extend(tx.reports.ledger_sums(pieces, _selection(query, plan)))
    _fold(query, rows, result)
    return result


def _involved_policies(query: Query) -> tuple[Policy, ...]:
    grouped = query.policies if {"budget", "policy"} & set(query.group_by) else ()
    return (*grouped, *(query.budget_policies or ()))


def _plan(query: Query) -> _Plan:
    policies = _involved_policies(query)
    attrs = set(query.filters) | {g for g in query.group_by if g in COLUMNS}
    for policy in policies:
        attrs |= {name for name in SCOPE_FIELDS if getattr(policy.scope, name) is not None}
    scope_tags = any(p.scope.tags for p in policies)
    tag_group = "tag" in query.group_by
    only_tags = not attrs and not scope_tags
    if only_tags and ((tag_group and not query.tags) or (not tag_group and len(query.tags) == 1)):
        only = next(iter(query.tags)) if query.tags else None
        return _Plan("tag", (), True, only)
    with_tags = tag_group or bool(query.tags) or scope_tags
    if with_tags:
        return _Plan("full", _ordered(attrs), True, None)
    cube = next(c for c in _ORDER if attrs <= set(CUBES[c]))
    return _Plan(cube, _ordered(attrs), False, None)


def cube_for(attrs: set[str], tags: frozenset[str]) -> str | None:
    """The smallest cube holding these attributes (None when tags are involved)."""
    if tags:
        return None
    return next(c for c in _ORDER if attrs <= set(CUBES[c]))


def _ordered(attrs: set[str]) -> tuple[str, ...]:
    return tuple(a for a in ATTRIBUTES if a in attrs)


def _rollup_rows(tx: Unit, query: Query, plan: _Plan, time: TimePlan) -> Iterator[SumRow]:
    selection = _selection(query, plan)
    for span, ranges in ((1, time.hours), (24, time.days)):
        if ranges:
            label = label_rule(query.bucketing, ranges)
            yield from tx.reports.rollup_sums(
                plan.cube, span, ranges, label, selection, plan.tag_equals
            )


def _selection(query: Query, plan: _Plan) -> Selection:
    """What storage sums for this query and plan (scopes: a budget's policies, if any)."""
    scopes = None
    if query.budget_policies is not None:
        scopes = tuple(scope_values(p) for p in query.budget_policies)
    return Selection(
        plan.attrs, plan.with_tags, query.filters, query.priced, query.corrections, scopes
    )


def scope_values(policy: Policy) -> dict[str, str]:
    """A policy's attribute filters as column values (tier by its value)."""
    out = {}
    for name in SCOPE_FIELDS:
        wanted = getattr(policy.scope, name)
        if wanted is not None:
            out[name] = getattr(wanted, "value", wanted)
    return out


@dataclass(frozen=True)
class Scope:
    """A policy's scope, ready to test rows against."""

    policy_id: str
    budget_id: str
    values: tuple[tuple[str, str], ...]
    tags: frozenset[str]

    @classmethod
    def of(cls, policy: Policy) -> Scope:
        values = tuple(scope_values(policy).items())
        return cls(policy.policy_id, policy.budget_id, values, frozenset(policy.scope.tags))

    def covers(self, dims: dict[str, str], tags: list[str] | None) -> bool:
        """Whether usage with these dimensions is in the scope."""
        for name, value in self.values:
            if dims.get(name) != value:
                return False
        return not self.tags or self.tags <= set(tags or ())


def _fold(query: Query, rows: list[SumRow], result: Result) -> None:
    budget = None if query.budget_policies is None else [Scope.of(p) for p in query.budget_policies]
    grouped = [Scope.of(p) for p in query.policies]
    for label, dims, tags, priced, counters in rows:
        if query.tags and not query.tags <= set(tags or ()):
            continue
        if budget is not None and not any(s.covers(dims, tags) for s in budget):
            continue
        result.totals.add(priced, counters)
        for key in _group_keys(query.group_by, grouped, dims, tags):
            bucket = result.groups.get((label, key))
            if bucket is None:
                bucket = result.groups[(label, key)] = Counters()
            bucket.add(priced, counters)


def _group_keys(
    group_by: tuple[str, ...], scopes: list[Scope], dims: dict[str, str], tags: list[str] | None
) -> list[tuple]:
    keys: list[tuple] = [()]
    for name in group_by:
        if name == "tag":
            values: list[str | None] = list(tags or ()) or [None]
        elif name == "policy":
            values = [s.policy_id for s in scopes if s.covers(dims, tags)] or [None]
        elif name == "budget":
            found = {s.budget_id: None for s in scopes if s.covers(dims, tags)}
            values = list(found) or [None]
        else:
            values = [dims[name] or None]
        keys = [(*key, value) for key in keys for value in values]
    return keys
