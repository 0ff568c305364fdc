"""Find the price of a (provider, model) at a moment, fast and without guessing.

Provider names are normalised (lowercase, stripped, aliases such as
``gemini`` -> ``google``); model ids are lowercased, stripped, and lose a
leading ``provider/`` prefix naming the same provider. Within the provider, a
price whose ``model`` equals the id wins; otherwise the first price (in
catalog order) whose ``match`` rules accept the id. Only prices in effect at
the moment count, and a manual override beats every non-override.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from budget.domain.prices import Price

#: Other names callers use for a provider -> the catalog's provider id.
PROVIDER_ALIASES: Mapping[str, str] = {
    "gemini": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "google-vertex": "google",
    "xai": "x-ai",
    "mistralai": "mistral",
    "bedrock": "aws",
    "azure_openai": "azure",
}

#: Rule-match results kept per catalog; cleared wholesale when full.
RULE_CACHE_SIZE = 8192

Matcher = Callable[[str], bool]


def normalize_provider(provider: str) -> str:
    """Lowercase, strip, and map an alias to the catalog's provider id."""
    name = provider.strip().lower()
    return PROVIDER_ALIASES.get(name, name)


def normalize_model(provider: str, model: str) -> str:
    """Lowercase, strip, and drop a leading ``<provider>/`` naming ``provider``.

    ``provider`` must already be normalised; the prefix may be an alias
    (``gemini/gemini-2.5-pro`` under ``google``).
    """
    model_id = model.strip().lower()
    prefix, slash, rest = model_id.partition("/")
    if slash and rest and normalize_provider(prefix) == provider:
        return rest
    return model_id


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
            provider = normalize_provider(price.provider)
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
        provider_id = None if provider is None else normalize_provider(provider)
        model_id = None if model is None else model.strip().lower()
        needle = None if search is None else search.strip().lower()
        when = None if at is None else _to_utc(at)
        out = []
        for entry in self._entries:
            price = entry.price
            if (
                (provider_id is not None and normalize_provider(price.provider) != provider_id)
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
        """The price of ``model`` at ``provider`` in effect at ``at``, or None.

        Order: an override (exact id, then by rules) beats everything; else the
        price whose model equals the id (the latest ``effective_from`` if
        several); else the first price in catalog order whose rules match.
        An id with a ``provider/`` prefix is compared exactly as given first
        (``perplexity/sonar`` is its own model), then without the prefix; rules
        see the id without the prefix first. A naive ``at`` is read as UTC.
        """
        when = _to_utc(at)
        key = (provider, model)
        answer = self._answers.get(key)
        if answer is not None:
            start, end, price = answer
            if (start is None or start <= when) and (end is None or when < end):
                return price
        price, start, end = self._lookup(provider, model, when)
        if len(self._answers) >= RULE_CACHE_SIZE:
            self._answers.clear()
        self._answers[key] = (start, end, price)
        return price

    def _lookup(
        self, provider: str, model: str, when: datetime
    ) -> tuple[Price | None, datetime | None, datetime | None]:
        """The answer of :meth:`lookup`, and the span of instants around
        ``when`` that give the same answer (between the effective dates of
        every candidate price)."""
        provider_id = normalize_provider(provider)
        if provider_id not in self._by_provider:
            return None, None, None
        full_id = model.strip().lower()
        model_id = normalize_model(provider_id, model)
        exact_ids = [i for i in dict.fromkeys((full_id, model_id)) if i]
        start, end = _span(
            when,
            [
                *(e for i in exact_ids for e in self._exact.get((provider_id, i), ())),
                *(e for i in exact_ids for e in self._rule_matches(provider_id, i)),
            ],
        )
        exact = _first_nonempty(
            [e for e in self._exact.get((provider_id, i), ()) if e.in_effect(when)]
            for i in exact_ids
        )
        by_rule = _first_nonempty(
            [e for e in self._rule_matches(provider_id, i) if e.in_effect(when)]
            for i in reversed(exact_ids)
        )
        for candidates, pick in (
            ([e for e in exact if e.price.is_override], _latest),
            ([e for e in by_rule if e.price.is_override], _first),
            (exact, _latest),
            (by_rule, _first),
        ):
            if candidates:
                return pick(candidates).price, start, end
        return None, start, end

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


def _span(when: datetime, entries: list[_Entry]) -> tuple[datetime | None, datetime | None]:
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
