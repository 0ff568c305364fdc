"""Deciding what a refresh writes: verdicts against the stored prices.

Per model, the sources' claims (plus, as a *witness*, the stored price when
its own source did not report this run) are verified over every field
(:mod:`budget.ingest.verify`), then:

* a rate only one lineage gives that is off its family's magnitude
  (:mod:`budget.ingest.family`): flagged as a conflict with cause
  ``magnitude``; a new model is not added, a stored price is kept;
* conflict: the stored price is kept (and marked ``conflict``) and the caller
  raises an alert, except for the kinds two or more lineages agree on
  against it: those replace the stored row (end-dated, a new row opened,
  still marked ``conflict`` for the rest);
* no stored price: the model is added (unless adding is switched off);
* the agreed rates equal the stored ones within the tolerance: no price is
  written; a better status (``verified``, or the end of a conflict) and the
  per-field verdicts are noted on the stored row, and sources outvoted by the
  majority are recorded as a ``disputed`` change with the likely cause;
* otherwise the stored row is end-dated now and a new row opens now, keeping
  the stored row's match rules, position, time-of-day variants and any rate
  the sources did not give. Two lineages agreeing against the stored row
  outvote it (the stored row is one witness at most).

A correction in force (:mod:`budget.pricing.corrections`) is laid over what
the sources agreed, so a refresh never undoes it. Every row written carries
``extra["field_verification"]`` (``{field path: status}``); every change
record carries its evidence: per field, each source's value and the lineages
agreeing. Overrides are never seen here: the caller passes only non-override
rows.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from budget.domain.prices import Price, PriceRates
from budget.ingest.collect import Group, GroupKey
from budget.ingest.evidence import as_text, evidence_for, evidence_of, field_checks, off_family
from budget.ingest.family import FamilyBands
from budget.ingest.merge import diff, merge_rates, status_after
from budget.ingest.verify import VERIFIED, ModelVerdict, Tolerance, verify
from budget.pricing.corrections import CORRECTED, Correction, in_force, load_corrections
from budget.pricing.refresh import FIELD_VERIFICATION, Insert, Plan, SourceSpec, Stored
from budget.pricing.refresh_report import ADDED, CHANGED, CONFLICT, DISPUTED, PriceChange
from budget.pricing.sanity import KINDS

__all__ = ["Context", "plan"]


@dataclass(frozen=True)
class Context:
    """What planning needs besides the groups."""

    now: datetime
    tolerance: Tolerance
    specs: dict[str, SourceSpec]
    reported_lineages: frozenset[str]
    versions: dict[str, str | None]
    add_new: bool = True
    #: The corrections to keep in force; None: the ones shipped with the package.
    corrections: tuple[Correction, ...] | None = None


def plan(groups: dict[GroupKey, Group], current: dict[GroupKey, Stored], ctx: Context) -> Plan:
    """The writes and counts of one run over every group."""
    out = Plan()
    shipped = load_corrections() if ctx.corrections is None else ctx.corrections
    corrections = in_force(shipped, ctx.now)
    verdicts = {
        key: verify(
            evidence_for(groups[key], _price(current.get(key)), ctx.specs, ctx.reported_lineages),
            ctx.tolerance,
        )
        for key in sorted(groups)
    }
    # The family bands see this run's rates as well as the stored ones, so a
    # second run over the same data decides as the first did.
    families = FamilyBands(
        [entry.price for entry in current.values()]
        + [Price(groups[k].provider, groups[k].model, v.rates, "") for k, v in verdicts.items()]
    )
    for key, verdict in verdicts.items():
        group, stored = groups[key], current.get(key)
        old = None if stored is None else stored.price.rates
        flags = off_family(families, group.provider, group.model, verdict, old)
        out.totals[CONFLICT if flags else verdict.status] += 1
        if flags:
            _flag(group, stored, verdict, flags, out)
        else:
            _plan_group(group, stored, verdict, ctx, out, corrections.get(key))
    return out


def _price(entry: Stored | None) -> Price | None:
    return None if entry is None else entry.price


def _conflict_change(
    group: Group,
    verdict: ModelVerdict,
    kinds: dict[str, dict[str, str]],
    cause: str | None,
    price: Price | None,
    paths: Iterable[str],
) -> PriceChange:
    """The change record of a conflict: who said what, why, and the evidence."""
    return PriceChange(
        provider=group.provider,
        model=group.model,
        action=CONFLICT,
        verification=CONFLICT,
        sources=tuple(e.source for e in verdict.evidence),
        kinds=kinds,
        cause=cause,
        old_price_id=None if price is None else price.price_id,
        evidence=evidence_of(verdict, paths),
    )


def _flag(
    group: Group, stored: Stored | None, verdict: ModelVerdict, flags: dict[str, str], out: Plan
) -> None:
    """A single-source rate off its family's magnitude: never priced silently."""
    price = None if stored is None else stored.price
    if price is not None and price.price_id is not None and price.verification != CONFLICT:
        out.statuses[price.price_id] = CONFLICT
    kinds = {k: {c.source: str(c.value) for c in verdict.kinds[k].claims} for k in flags}
    out.changes.append(
        _conflict_change(group, verdict, kinds, "; ".join(flags.values()), price, list(flags))
    )
    _count(out, group, verdict, "conflicts")


def _plan_group(
    group: Group,
    stored: Stored | None,
    verdict: ModelVerdict,
    ctx: Context,
    out: Plan,
    correction: Correction | None,
) -> None:
    if verdict.status == CONFLICT:
        _conflict(group, stored, verdict, ctx, out, correction)
    elif stored is None:
        if ctx.add_new:
            _add(group, verdict, ctx, out, correction)
        else:
            _count(out, group, verdict, "not_added")
    else:
        agreed = _corrected(verdict.rates, correction)
        merged = merge_rates(stored.price.rates, agreed, ctx.tolerance)
        if merged == stored.price.rates:
            _unchanged(group, stored.price, verdict, out, correction)
        else:
            _change(group, stored, merged, verdict, ctx, out, correction)


def _corrected(rates: PriceRates, correction: Correction | None) -> PriceRates:
    """The agreed rates with a correction's rates laid over them."""
    if correction is None:
        return rates
    probe = Price(provider="", model="", rates=rates, source="")
    return correction.apply(probe).rates


def _conflict(
    group: Group,
    stored: Stored | None,
    verdict: ModelVerdict,
    ctx: Context,
    out: Plan,
    correction: Correction | None,
) -> None:
    price = None if stored is None else stored.price
    overturned = False
    if stored is not None:
        # Kinds two or more lineages agree on still replace the stored rate.
        backed = {k: kv.rate for k, kv in verdict.kinds.items() if kv.status == VERIFIED}
        agreed = _corrected(PriceRates(**backed), correction)
        merged = merge_rates(stored.price.rates, agreed, ctx.tolerance)
        if merged != stored.price.rates:
            _change(group, stored, merged, verdict, ctx, out, correction)
            overturned = True
    kept = price is not None and price.price_id is not None and not overturned
    if kept and price.verification != CONFLICT:
        out.statuses[price.price_id] = CONFLICT
    paths = verdict.conflicting_fields
    kinds = {
        path: {c.source: as_text(c.value) for c in verdict.fields[path].claims} for path in paths
    }
    out.changes.append(
        _conflict_change(group, verdict, kinds, "; ".join(verdict.causes) or None, price, paths)
    )
    if not overturned:
        _count(out, group, verdict, "conflicts")


def _add(
    group: Group, verdict: ModelVerdict, ctx: Context, out: Plan, correction: Correction | None
) -> None:
    _, record = group.claims[verdict.primary.source]
    price = Price(
        provider=group.provider,
        model=group.model,
        name=record.name,
        rates=_with_unverified_kinds(record.rates, verdict.rates),
        time_of_day=record.time_of_day,
        service_tiers=record.service_tiers,
        match=record.match,
        context_window=record.context_window,
        source=verdict.primary.source,
        source_version=ctx.versions.get(verdict.primary.source),
        verification=verdict.status,
        extra={"sources": list(_agreeing(verdict)), FIELD_VERIFICATION: field_checks(verdict)},
    )
    if correction is not None:
        price = correction.apply(price)
    kinds = {k: diff(None, getattr(price.rates, k)) for k in KINDS if getattr(price.rates, k)}
    out.changes.append(_change_record(group, ADDED, verdict, kinds, None))
    out.inserts.append(Insert(price, None, len(out.changes) - 1))
    _count(out, group, verdict, "added")


def _with_unverified_kinds(primary: PriceRates, agreed: PriceRates) -> PriceRates:
    """The agreed kinds over the primary source's rates, so what verification
    does not vote on (1-hour cache writes, service tiers) is kept, not dropped."""
    kinds = {k: getattr(agreed, k) for k in KINDS}
    return dataclasses.replace(primary, **kinds, per_request=agreed.per_request)


def _unchanged(
    group: Group, stored: Price, verdict: ModelVerdict, out: Plan, correction: Correction | None
) -> None:
    status = (
        CORRECTED if correction is not None else status_after(stored.verification, verdict.status)
    )
    if status != stored.verification and stored.price_id is not None:
        out.statuses[stored.price_id] = status
    checks = field_checks(verdict, correction)
    if stored.price_id is not None and stored.extra.get(FIELD_VERIFICATION) != checks:
        out.rewrites[stored.price_id] = dataclasses.replace(
            stored, extra={**stored.extra, FIELD_VERIFICATION: checks}
        )
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
    correction: Correction | None,
) -> None:
    stored = entry.price
    assert stored.price_id is not None
    out.end_dated.append(stored.price_id)
    extra = {k: v for k, v in stored.extra.items() if k not in ("correction", "upstream_source")}
    claim = group.claims.get(verdict.primary.source)
    price = dataclasses.replace(
        stored,
        rates=merged,
        # the stored tiers stay; a row without any takes the primary source's
        service_tiers=stored.service_tiers or (claim[1].service_tiers if claim else ()),
        source=verdict.primary.source,
        source_version=ctx.versions.get(verdict.primary.source),
        verification=verdict.status,
        effective_from=ctx.now,
        effective_to=None,
        price_id=None,
        is_override=False,
        extra={
            **extra,
            "sources": list(_agreeing(verdict)),
            FIELD_VERIFICATION: field_checks(verdict, correction),
        },
    )
    if correction is not None:
        price = correction.apply(price)
    kinds = {
        k: diff(getattr(stored.rates, k), getattr(price.rates, k))
        for k in KINDS
        if getattr(stored.rates, k) != getattr(price.rates, k)
    }
    record = _change_record(group, CHANGED, verdict, kinds, stored.price_id)
    out.changes.append(dataclasses.replace(record, evidence=evidence_of(verdict, kinds)))
    out.inserts.append(Insert(price, entry.position, len(out.changes) - 1))
    _count(out, group, verdict, "changed")


def _agreeing(verdict: ModelVerdict) -> tuple[str, ...]:
    names = [c.source for kv in verdict.kinds.values() for c in kv.agreeing]
    return tuple(dict.fromkeys(names))


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
