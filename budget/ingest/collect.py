"""From source results to one group of claims per model.

Each record's (provider, model) is resolved against the current catalog: the
model the catalog already prices under that id (exactly, by its match rules,
with version dots read as dashes, or without a Bedrock cross-region prefix)
is the target; otherwise the record names a new model. A record whose input or
output rate breaks the sanity rules is left out, and a flagged cache rate is
dropped (both counted against their source); records of providers priced by a
built-in catch-all rule (``ollama``, ``local``) are left out too. A source
that names one model twice keeps the record whose own id matches it best.

The outcome never depends on the order of the sources or of their records:
between two records of one source that match a model equally well, the one
whose raw id is plainest (the model id itself, else the shortest, else the
smallest) wins, and a new model several ids resolve to is named by the
smallest of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget.domain.prices import Price
from budget.pricing.catalog import PriceCatalog
from budget.pricing.normalize import fallback_ids, model_key
from budget.pricing.refresh import SourceRecord, SourceResult, SourceSpec
from budget.pricing.sanity import REQUIRED, sanity_problems

GroupKey = tuple[str, str]


@dataclass
class Group:
    """Every source's claim about one model."""

    provider: str
    model: str
    claims: dict[str, tuple[SourceSpec, SourceRecord]] = field(default_factory=dict)

    @property
    def key(self) -> GroupKey:
        return (self.provider, model_key(self.model))


class Resolver:
    """Maps a record's (provider, model) to the catalog's model id, cached."""

    def __init__(self, catalog: PriceCatalog, now: datetime) -> None:
        self.catalog = catalog
        self.now = now
        self._cache: dict[tuple[str, str], str | None] = {}

    def resolve(self, provider: str, model: str) -> str | None:
        """The catalog's id for the model, the model itself if it is new, or None
        when a built-in catch-all rule prices it."""
        key = (provider, model)
        if key not in self._cache:
            self._cache[key] = self._lookup(provider, model)
        return self._cache[key]

    def _lookup(self, provider: str, model: str) -> str | None:
        for candidate in dict.fromkeys((model, model_key(model), *fallback_ids(provider, model))):
            price = self.catalog.lookup(provider, candidate, self.now)
            if price is not None:
                return None if _catch_all(price) else price.model
        return model


def collect(
    results: Iterable[tuple[SourceSpec, SourceResult]],
    catalog: PriceCatalog,
    now: datetime,
    ceiling: Decimal,
) -> dict[GroupKey, Group]:
    """One :class:`Group` per model named by any result."""
    resolver = Resolver(catalog, now)
    found: dict[GroupKey, dict[str, list[tuple[SourceSpec, SourceRecord, str]]]] = {}
    for spec, result in results:
        for record in result.records:
            _add(found, resolver, spec, result, record, now, ceiling)
    groups: dict[GroupKey, Group] = {}
    for key, per_source in found.items():
        model = min(target for items in per_source.values() for _, _, target in items)
        group = Group(key[0], model)
        for name, items in sorted(per_source.items()):
            spec, record, _ = min(items, key=lambda item: _preference(item[1], model))
            group.claims[name] = (spec, record)
        groups[key] = group
    return groups


def _add(
    found: dict[GroupKey, dict[str, list[tuple[SourceSpec, SourceRecord, str]]]],
    resolver: Resolver,
    spec: SourceSpec,
    result: SourceResult,
    record: SourceRecord,
    now: datetime,
    ceiling: Decimal,
) -> None:
    if not record.in_effect(now):
        return
    record = _sane(record, result, ceiling)
    if record is None:
        return
    target = resolver.resolve(record.provider, record.model)
    if target is None:
        result.skip("priced by a built-in rule", record.raw_id)
        return
    per_source = found.setdefault((record.provider, model_key(target)), {})
    per_source.setdefault(spec.name, []).append((spec, record, target))


def _sane(record: SourceRecord, result: SourceResult, ceiling: Decimal) -> SourceRecord | None:
    """The record without the rates the sanity rules flag; None if input or output is."""
    problems = sanity_problems(record.rates, ceiling)
    for kind in REQUIRED:
        if kind in problems:
            result.skip(f"failed sanity check: {problems[kind]}", record.raw_id)
            return None
    if not problems:
        return record
    for problem in problems.values():
        result.skip(f"rate dropped by sanity check: {problem}", record.raw_id)
    rates = dataclasses.replace(record.rates, **dict.fromkeys(problems))
    return dataclasses.replace(record, rates=rates)


def _preference(record: SourceRecord, target: str) -> tuple[int, bool, int, str, str]:
    """Sort key of a source's records for one model: the closest first, then
    the plainest raw id (the model id itself, else the shortest, so a
    region-qualified variant loses to the plain one), then the smaller ids;
    the choice never depends on the records' order."""
    plain = record.raw_id.lower() == record.model
    return (-_closeness(record, target), not plain, len(record.raw_id), record.model, record.raw_id)


def _closeness(record: SourceRecord, target: str) -> int:
    """2: the record's own id is the target; 1: same key; 0: matched by a rule."""
    if record.model == target.lower():
        return 2
    return 1 if model_key(record.model) == model_key(target) else 0


def _catch_all(price: Price) -> bool:
    return any(clause.get("any") is True for clause in price.match)
