"""Deciding what a refresh writes: verdicts against the stored prices.

Per model, the sources' claims (plus, as a *witness*, the stored price when
its own source did not report this run) are verified, then:

* conflict: the stored price is kept (and marked ``conflict``); nothing new is
  written; the caller raises an alert;
* no stored price: the model is added (unless adding is switched off);
* the agreed rates equal the stored ones within the tolerance: no price is
  written; a better status (``verified``, or the end of a conflict) is noted
  on the stored row, and sources outvoted by the majority are recorded as a
  ``disputed`` change with the likely cause;
* otherwise the stored row is end-dated now and a new row opens now, keeping
  the stored row's match rules, position, time-of-day variants and any rate
  the sources did not give.

Overrides are never seen here: the caller passes only non-override rows.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget.domain.prices import Price, PriceRates, Rate
from budget.pricing.sources.base import SourceSpec
from budget.pricing.sources.collect import Group, GroupKey
from budget.pricing.sources.report import ADDED, CHANGED, CONFLICT, DISPUTED, PriceChange
from budget.pricing.verify import (
    KINDS,
    UNVERIFIED,
    VERIFIED,
    Evidence,
    ModelVerdict,
    Tolerance,
    verify,
)

#: Sources whose rows are never a witness (people and built-in rules).
NOT_WITNESSES = frozenset({"manual", "budget-builtin"})
DEFAULT_TRUST = Decimal("0.5")


@dataclass(frozen=True)
class Stored:
    """A stored, non-override price row in effect now, and its catalog position."""

    price: Price
    position: int


@dataclass
class Insert:
    """A price row to insert; ``position`` None means after every other row."""

    price: Price
    position: int | None
    change: int | None = None  # index of its PriceChange in Plan.changes


@dataclass
class Plan:
    """Everything one refresh run writes, and what it counts."""

    inserts: list[Insert] = field(default_factory=list)
    end_dated: list[int] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)
    changes: list[PriceChange] = field(default_factory=list)
    per_source: dict[str, Counter[str]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> bool:
        return bool(self.inserts or self.end_dated or self.statuses)


@dataclass(frozen=True)
class Context:
    """What planning needs besides the groups."""

    now: datetime
    tolerance: Tolerance
    specs: dict[str, SourceSpec]
    reported_lineages: frozenset[str]
    versions: dict[str, str | None]
    add_new: bool = True


def plan(groups: dict[GroupKey, Group], current: dict[GroupKey, Stored], ctx: Context) -> Plan:
    """The writes and counts of one run over every group."""
    out = Plan()
    for key in sorted(groups):
        group = groups[key]
        stored = current.get(key)
        verdict = verify(_evidence(group, stored and stored.price, ctx), ctx.tolerance)
        out.totals[verdict.status] += 1
        _plan_group(group, stored, verdict, ctx, out)
    return out


def _evidence(group: Group, stored: Price | None, ctx: Context) -> list[Evidence]:
    evidence = [
        Evidence(spec.name, spec.lineage, spec.trust, record.rates)
        for spec, record in group.claims.values()
    ]
    if stored is not None and stored.source not in NOT_WITNESSES:
        spec = ctx.specs.get(stored.source)
        lineage = spec.lineage if spec else stored.source
        if lineage not in ctx.reported_lineages:
            trust = spec.trust if spec else DEFAULT_TRUST
            evidence.append(Evidence(stored.source, lineage, trust, stored.rates, witness=True))
    return evidence


def _plan_group(
    group: Group, stored: Stored | None, verdict: ModelVerdict, ctx: Context, out: Plan
) -> None:
    if verdict.status == CONFLICT:
        _conflict(group, stored and stored.price, verdict, out)
    elif stored is None:
        if ctx.add_new:
            _add(group, verdict, ctx, out)
        else:
            _count(out, group, verdict, "not_added")
    else:
        merged = merge_rates(stored.price.rates, verdict.rates, ctx.tolerance)
        if merged == stored.price.rates:
            _unchanged(group, stored.price, verdict, out)
        else:
            _change(group, stored, merged, verdict, ctx, out)


def _conflict(group: Group, stored: Price | None, verdict: ModelVerdict, out: Plan) -> None:
    if stored is not None and stored.price_id is not None and stored.verification != CONFLICT:
        out.statuses[stored.price_id] = CONFLICT
    kinds = {
        kind: {c.source: str(c.value) for c in kv.claims}
        for kind, kv in verdict.kinds.items()
        if kind in verdict.conflicting_kinds
    }
    out.changes.append(
        PriceChange(
            provider=group.provider,
            model=group.model,
            action=CONFLICT,
            verification=CONFLICT,
            sources=tuple(e.source for e in verdict.evidence),
            kinds=kinds,
            cause="; ".join(verdict.causes) or None,
            old_price_id=None if stored is None else stored.price_id,
        )
    )
    _count(out, group, verdict, "conflicts")


def _add(group: Group, verdict: ModelVerdict, ctx: Context, out: Plan) -> None:
    _, record = group.claims[verdict.primary.source]
    price = Price(
        provider=group.provider,
        model=group.model,
        name=record.name,
        rates=verdict.rates,
        time_of_day=record.time_of_day,
        match=record.match,
        context_window=record.context_window,
        source=verdict.primary.source,
        source_version=ctx.versions.get(verdict.primary.source),
        verification=verdict.status,
        extra={"sources": list(_agreeing(verdict))},
    )
    kinds = {k: _diff(None, getattr(verdict.rates, k)) for k in KINDS if getattr(verdict.rates, k)}
    out.changes.append(_change_record(group, ADDED, verdict, kinds, None))
    out.inserts.append(Insert(price, None, len(out.changes) - 1))
    _count(out, group, verdict, "added")


def _unchanged(group: Group, stored: Price, verdict: ModelVerdict, out: Plan) -> None:
    status = status_after(stored.verification, verdict.status)
    if status != stored.verification and stored.price_id is not None:
        out.statuses[stored.price_id] = status
    disputed = {k: kv for k, kv in verdict.kinds.items() if kv.outliers}
    if disputed:  # the majority held; say who disagreed and why
        kinds = {k: {c.source: str(c.value) for c in kv.claims} for k, kv in disputed.items()}
        change = _change_record(group, DISPUTED, verdict, kinds, stored.price_id)
        out.changes.append(dataclasses.replace(change, new_price_id=stored.price_id))
    _count(out, group, verdict, "unchanged")


def _change(
    group: Group,
    entry: Stored,
    merged: PriceRates,
    verdict: ModelVerdict,
    ctx: Context,
    out: Plan,
) -> None:
    stored = entry.price
    assert stored.price_id is not None
    out.end_dated.append(stored.price_id)
    price = dataclasses.replace(
        stored,
        rates=merged,
        source=verdict.primary.source,
        source_version=ctx.versions.get(verdict.primary.source),
        verification=verdict.status,
        effective_from=ctx.now,
        effective_to=None,
        price_id=None,
        is_override=False,
        extra={**stored.extra, "sources": list(_agreeing(verdict))},
    )
    kinds = {
        k: _diff(getattr(stored.rates, k), getattr(merged, k))
        for k in KINDS
        if getattr(stored.rates, k) != getattr(merged, k)
    }
    out.changes.append(_change_record(group, CHANGED, verdict, kinds, stored.price_id))
    out.inserts.append(Insert(price, entry.position, len(out.changes) - 1))
    _count(out, group, verdict, "changed")


def merge_rates(stored: PriceRates, agreed: PriceRates, tol: Tolerance) -> PriceRates:
    """The stored rates with each kind the sources agreed on put in, unless
    it is the same rate within the tolerance (then the stored one stays)."""
    kinds: dict[str, Rate | None] = {}
    for kind in KINDS:
        old, new = getattr(stored, kind), getattr(agreed, kind)
        kinds[kind] = old if new is None or same_rate(old, new, tol) else new
    per_request = agreed.per_request
    if per_request is None or (
        stored.per_request is not None and tol.agree(stored.per_request, per_request)
    ):
        per_request = stored.per_request
    # replace, not a new PriceRates: kinds not verified here (1-hour cache writes) stay
    return dataclasses.replace(stored, **kinds, per_request=per_request)


def same_rate(old: Rate | None, new: Rate, tol: Tolerance) -> bool:
    """True when ``new`` says nothing ``old`` does not (tiers compared when ``new`` has them)."""
    if old is None or not tol.agree(old.base, new.base):
        return False
    if not new.tiers:
        return True
    if len(old.tiers) != len(new.tiers):
        return False
    pairs = zip(sorted(old.tiers, key=_start), sorted(new.tiers, key=_start), strict=True)
    return all(a.start == b.start and tol.agree(a.rate, b.rate) for a, b in pairs)


def status_after(stored: str, found: str) -> str:
    """A stored row's status after a run found ``found`` and the rates unchanged:
    verified wins; a conflict ends; otherwise the stored status stays."""
    if found == VERIFIED:
        return VERIFIED
    if stored == CONFLICT:
        return found
    return stored if stored in (VERIFIED, UNVERIFIED) else found


def _start(tier) -> int:
    return tier.start


def _agreeing(verdict: ModelVerdict) -> tuple[str, ...]:
    names = [c.source for kv in verdict.kinds.values() for c in kv.agreeing]
    return tuple(dict.fromkeys(names))


def _diff(old: Rate | None, new: Rate | None) -> dict[str, str | None]:
    """``{"old", "new", "change_pct"}`` of one kind; tiers shown as ``; >start: rate``."""
    pct = None
    if old is not None and new is not None and old.base != 0:
        pct = str(((new.base - old.base) / old.base * 100).quantize(Decimal("0.01")))
    return {"old": describe_rate(old), "new": describe_rate(new), "change_pct": pct}


def describe_rate(rate: Rate | None) -> str | None:
    """A rate as text: ``"3"``, or ``"3; >200000: 6"`` with tiers."""
    if rate is None:
        return None
    tiers = "".join(f"; >{t.start}: {t.rate}" for t in sorted(rate.tiers, key=_start))
    return f"{rate.base}{tiers}"


def _change_record(
    group: Group, action: str, verdict: ModelVerdict, kinds: dict, old_id: int | None
) -> PriceChange:
    return PriceChange(
        provider=group.provider,
        model=group.model,
        action=action,
        verification=verdict.status,
        sources=_agreeing(verdict),
        kinds=kinds,
        cause="; ".join(verdict.causes) or None,
        old_price_id=old_id,
    )


def _count(out: Plan, group: Group, verdict: ModelVerdict, outcome: str) -> None:
    """Credit the outcome to each source that took part; outliers are 'disputed'."""
    out.totals[outcome] += 1
    outliers = {c.source for kv in verdict.kinds.values() for c in kv.outliers}
    for name in group.claims:
        counter = out.per_source.setdefault(name, Counter())
        disputed = name in outliers and outcome != "conflicts"
        counter["disputed" if disputed else outcome] += 1
