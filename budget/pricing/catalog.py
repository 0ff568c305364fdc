"""Find the price of a (platform, model) at a moment, fast and without guessing.

Platform names are normalised (lowercase, stripped, aliases such as
``gemini`` -> ``google``, ``bedrock`` -> ``aws``; see
:mod:`budget.pricing.platforms`); a model is looked up under the ids
:func:`~budget.pricing.platforms.candidate_ids` gives. Within the platform, a
price whose ``model`` equals an id wins; otherwise the first price (in catalog
order) whose ``match`` rules accept one. Only prices in effect at the moment
count, and a manual override beats every non-override. A platform without a
price of its own for the model is priced by the platforms it declares as its
fallback, and :meth:`PriceCatalog.resolve` says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from budget.domain.prices import Price
from budget.pricing import platforms as pf
from budget.pricing.platforms import Resolution

#: Other names callers use for a platform -> the catalog's platform id.
PROVIDER_ALIASES: Mapping[str, str] = pf.PLATFORM_ALIASES

#: Rule-match results kept per catalog; cleared wholesale when full.
RULE_CACHE_SIZE = 8192

Matcher = Callable[[str], bool]
Span = tuple[datetime | None, datetime | None]


def compile_match(clauses: Sequence[Mapping[str, Any]]) -> Matcher:
    """A predicate over lowercased model ids from ``match`` clauses (OR-ed).

    Each clause is one of ``equals``, ``starts_with``, ``ends_with``,
    ``contains`` (compared lowercased), ``regex`` (``re.search``), ``and`` /
    ``or`` (lists of clauses) or ``{"any": true}``. An empty list matches nothing.
    """
    matchers = [_compile_clause(clause) for clause in clauses]
    if not matchers:
        return lambda _model: False
    if len(matchers) == 1:
        return matchers[0]
    return lambda model: any(m(model) for m in matchers)


def _compile_clause(clause: Mapping[str, Any]) -> Matcher:
    if not isinstance(clause, Mapping) or len(clause) != 1:
        raise ValueError(f"match clause {clause!r}: must be a dict with exactly one key")
    ((kind, arg),) = clause.items()
    if kind in ("and", "or"):
        if not isinstance(arg, list | tuple) or not arg:
            raise ValueError(f"match clause {clause!r}: {kind!r} needs a non-empty list")
        parts = [_compile_clause(c) for c in arg]
        combine = all if kind == "and" else any
        return lambda model: combine(p(model) for p in parts)
    if kind == "any":
        if arg is not True:
            raise ValueError(f"match clause {clause!r}: 'any' must be true")
        return lambda _model: True
    if not isinstance(arg, str):
        raise ValueError(f"match clause {clause!r}: {kind!r} needs a string")
    return _compile_text_clause(kind, arg, clause)


def _compile_text_clause(kind: str, arg: str, clause: Mapping[str, Any]) -> Matcher:
    text = arg.lower()
    if kind == "equals":
        return lambda model: model == text
    if kind == "starts_with":
        return lambda model: model.startswith(text)
    if kind == "ends_with":
        return lambda model: model.endswith(text)
    if kind == "contains":
        return lambda model: text in model
    if kind == "regex":
        try:
            pattern = re.compile(arg)
        except re.error as exc:
            raise ValueError(f"match clause {clause!r}: bad regex: {exc}") from None
        return lambda model: pattern.search(model) is not None
    raise ValueError(f"match clause {clause!r}: unknown kind {kind!r}")


class _Entry:
    """A price with what lookup needs precomputed."""

    __slots__ = ("effective_from", "effective_to", "matcher", "order", "price")

    def __init__(self, price: Price, order: int) -> None:
        self.price = price
        self.order = order
        self.matcher = compile_match(price.match)
        self.effective_from = _as_utc(price.effective_from)
        self.effective_to = _as_utc(price.effective_to)

    def in_effect(self, at: datetime) -> bool:
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to


class PriceCatalog:
    """An immutable set of prices, indexed by provider and exact model id."""

    def __init__(self, prices: Iterable[Price]) -> None:
        """Index ``prices``; their order is the catalog order used by match rules."""
        self._entries: list[_Entry] = []
        self._by_provider: dict[str, list[_Entry]] = {}
        self._exact: dict[tuple[str, str], list[_Entry]] = {}
        self._rule_cache: dict[tuple[str, str], tuple[_Entry, ...]] = {}
        #: (provider, model) -> (from, to, price): the answer for any instant in [from, to).
        self._answers: dict[tuple[str, str], tuple[datetime | None, datetime | None, Any]] = {}
        for order, price in enumerate(prices):
            entry = _Entry(price, order)
            provider = pf.normalize_platform(price.provider)
            self._entries.append(entry)
            self._by_provider.setdefault(provider, []).append(entry)
            model_id = price.model.strip().lower()
            self._exact.setdefault((provider, model_id), []).append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def prices(self) -> list[Price]:
        """Every price, in catalog order."""
        return [entry.price for entry in self._entries]

    def select(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        search: str | None = None,
        source: str | None = None,
        verification: str | None = None,
        override: bool | None = None,
        at: datetime | None = None,
    ) -> list[Price]:
        """The prices that pass every filter given, in catalog order.

        ``provider`` is normalised; ``model`` is an exact id (case-insensitive),
        ``search`` a substring of it; ``at`` keeps the prices in effect then
        (a naive ``at`` is UTC). Filters left None do not filter.
        """
        provider_id = None if provider is None else pf.normalize_platform(provider)
        model_id = None if model is None else model.strip().lower()
        needle = None if search is None else search.strip().lower()
        when = None if at is None else _to_utc(at)
        out = []
        for entry in self._entries:
            price = entry.price
            if (
                (provider_id is not None and pf.normalize_platform(price.provider) != provider_id)
                or (model_id is not None and price.model.lower() != model_id)
                or (needle is not None and needle not in price.model.lower())
                or (source is not None and price.source != source)
                or (verification is not None and price.verification != verification)
                or (override is not None and price.is_override != override)
                or (when is not None and not entry.in_effect(when))
            ):
                continue
            out.append(price)
        return out

    def providers(self) -> list[str]:
        """The normalised provider ids, sorted."""
        return sorted(self._by_provider)

    def lookup(self, provider: str, model: str, at: datetime) -> Price | None:
        """The price of ``model`` at platform ``provider`` in effect at ``at``, or None
        (:meth:`resolve` without the explanation)."""
        return self.resolve(provider, model, at).price

    def resolve(self, provider: str, model: str, at: datetime) -> Resolution:
        """Which price ``model`` at platform ``provider`` has at ``at``, and why.

        Order, at the platform: an override (exact id, then by rules) beats
        everything; else the price whose model equals an id (the latest
        ``effective_from`` if several); else the first price in catalog order
        whose rules match. The ids are tried most literal first
        (:func:`~budget.pricing.platforms.candidate_ids`); rules see the most
        canonical id first. With nothing at the platform, the same at each
        platform it declares as its fallback, in order (one step). Else
        unpriced, with the ``platform/id`` pairs tried. A naive ``at`` is UTC.
        """
        when = _to_utc(at)
        key = (provider, model)
        answer = self._answers.get(key)
        if answer is not None:
            start, end, found = answer
            if (start is None or start <= when) and (end is None or when < end):
                return found
        found, (start, end) = self._resolve(provider, model, when)
        if len(self._answers) >= RULE_CACHE_SIZE:
            self._answers.clear()
        self._answers[key] = (start, end, found)
        return found

    def _resolve(self, provider: str, model: str, when: datetime) -> tuple[Resolution, Span]:
        """The answer of :meth:`resolve`, and the span of instants around
        ``when`` that give the same answer (between the effective dates of
        every candidate price, at the platform and its fallbacks)."""
        platform = pf.normalize_platform(provider)
        shown = model.strip().lower()
        ids = pf.candidate_ids(platform, model)
        tried = [f"{platform}/{i}" for i in ids]
        entry, rule, span = self._at_platform(platform, ids, when)
        if entry is not None:
            return Resolution(platform, shown, entry.price, rule, None, tuple(tried)), span
        for other in pf.fallbacks(platform):
            other_ids = pf.candidate_ids(other, ids[-1])
            tried += [f"{other}/{i}" for i in other_ids]
            entry, _rule, other_span = self._at_platform(other, other_ids, when)
            span = _intersect(span, other_span)
            if entry is not None:
                found = Resolution(platform, shown, entry.price, pf.FALLBACK, other, tuple(tried))
                return found, span
        known = platform in self._by_provider
        return Resolution(platform, shown, None, pf.NONE, None, tuple(tried), known), span

    def _at_platform(
        self, platform: str, ids: list[str], when: datetime
    ) -> tuple[_Entry | None, str, Span]:
        """The entry of ``platform`` that prices one of ``ids`` at ``when``, its
        rule, and the span of instants with the same answer."""
        if platform not in self._by_provider:
            return None, pf.NONE, (None, None)
        exact_all = [e for i in ids for e in self._exact.get((platform, i), ())]
        rules_all = [e for i in ids for e in self._rule_matches(platform, i)]
        span = _span(when, [*exact_all, *rules_all])
        exact = _first_nonempty(
            [e for e in self._exact.get((platform, i), ()) if e.in_effect(when)] for i in ids
        )
        by_rule = _first_nonempty(
            [e for e in self._rule_matches(platform, i) if e.in_effect(when)] for i in reversed(ids)
        )
        for candidates, pick, rule in (
            ([e for e in exact if e.price.is_override], _latest, pf.OVERRIDE),
            ([e for e in by_rule if e.price.is_override], _first, pf.OVERRIDE),
            (exact, _latest, pf.EXACT),
            (by_rule, _first, pf.MATCH),
        ):
            if candidates:
                return pick(candidates), rule, span
        return None, pf.NONE, span

    def _rule_matches(self, provider_id: str, model_id: str) -> tuple[_Entry, ...]:
        """Every price of the provider whose rules accept the id, in catalog order.

        Independent of time, so it is cached; the time filter runs per lookup.
        """
        key = (provider_id, model_id)
        cached = self._rule_cache.get(key)
        if cached is not None:
            return cached
        found = tuple(e for e in self._by_provider.get(provider_id, ()) if e.matcher(model_id))
        if len(self._rule_cache) >= RULE_CACHE_SIZE:
            self._rule_cache.clear()
        self._rule_cache[key] = found
        return found


def _span(when: datetime, entries: list[_Entry]) -> Span:
    """The largest [start, end) around ``when`` in which no entry starts or ends."""
    start = end = None
    for entry in entries:
        for edge in (entry.effective_from, entry.effective_to):
            if edge is None:
                continue
            if edge <= when and (start is None or edge > start):
                start = edge
            elif edge > when and (end is None or edge < end):
                end = edge
    return start, end


def _intersect(a: Span, b: Span) -> Span:
    """The span inside both ``a`` and ``b`` (None: unbounded on that side)."""
    starts = [x for x in (a[0], b[0]) if x is not None]
    ends = [x for x in (a[1], b[1]) if x is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


def _first_nonempty(lists: Iterable[list[_Entry]]) -> list[_Entry]:
    for entries in lists:
        if entries:
            return entries
    return []


def _first(entries: list[_Entry]) -> _Entry:
    return entries[0]


def _latest(entries: list[_Entry]) -> _Entry:
    """The most recently effective entry; on a tie, the later in catalog order."""
    floor = datetime.min.replace(tzinfo=UTC)
    return max(entries, key=lambda e: (e.effective_from or floor, e.order))


def _to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _to_utc(value)
