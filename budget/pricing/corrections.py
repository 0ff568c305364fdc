"""Reviewed corrections to upstream price data (``data/corrections.json``).

Each entry fixes one upstream mistake a person checked against the
provider's public price page: it names the platform (``provider``) and
model, the fields it sets (in the serialized form of
:func:`budget.pricing.serialize.rates_to_dict`, merged key by key over the
upstream rates; ``"time_of_day": []`` removes the variants), the span it
applies to (``effective_from``, ``effective_to``; either may be null), the
page it comes from (``url``), the day it was checked (``checked``) and why.

Corrections sit above upstream data and below overrides: the shipped catalog
is corrected when it seeds a database, a refresh keeps a correction in force
over whatever the sources say, and an override still wins, since lookups
prefer overrides. A corrected row has ``source`` ``correction``, verification
``corrected`` and ``extra`` ``{"correction": <id>, "upstream_source": ...}``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from budget.domain.prices import Price
from budget.pricing.normalize import model_key
from budget.pricing.serialize import price_from_dict, price_to_dict

DATA_PACKAGE = "budget.pricing"
DATA_FILE = "data/corrections.json"
SOURCE = "correction"
CORRECTED = "corrected"
_REQUIRED = ("id", "provider", "model", "set", "url", "checked", "why")


@dataclass(frozen=True)
class Correction:
    """One reviewed correction (see the module docstring for the fields)."""

    id: str
    provider: str
    model: str
    set: Mapping[str, Any]
    url: str
    checked: date
    why: str
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, model_key(self.model))

    def covers(self, at: datetime) -> bool:
        """True when the correction is in force at ``at``."""
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """True when the span ``[start, end)`` shares a moment with the correction's."""
        before = self.effective_to is not None and start is not None and start >= self.effective_to
        after = self.effective_from is not None and end is not None and end <= self.effective_from
        return not (before or after)

    def apply(self, price: Price) -> Price:
        """``price`` with the correction's fields set, named as corrected."""
        doc = price_to_dict(price)
        doc["rates"] = {**doc["rates"], **self.set}
        if not doc["rates"].get("time_of_day"):
            doc["rates"].pop("time_of_day", None)
        corrected = price_from_dict(doc)
        upstream = price.extra.get("upstream_source", price.source)
        return dataclasses.replace(
            corrected,
            source=SOURCE,
            source_version=self.id,
            verification=CORRECTED,
            price_id=None,
            extra={**price.extra, "correction": self.id, "upstream_source": upstream},
        )


def parse(doc: Mapping[str, Any]) -> tuple[Correction, ...]:
    """The corrections of a document; raises ValueError naming the entry and field."""
    out = []
    for i, entry in enumerate(doc.get("corrections") or ()):
        name = entry.get("id", f"#{i}")
        for key in _REQUIRED:
            if not entry.get(key) and key != "set":
                raise ValueError(f"correction {name}: missing {key!r}")
        if not isinstance(entry.get("set"), Mapping) or not entry["set"]:
            raise ValueError(f"correction {name}: 'set' must name at least one field")
        if not str(entry["url"]).startswith("https://"):
            raise ValueError(f"correction {name}: url={entry['url']!r} must be an https page")
        dates = price_from_dict(
            {
                "provider": entry["provider"],
                "model": entry["model"],
                "source": SOURCE,
                "rates": dict(entry["set"]),
                "effective_from": entry.get("effective_from"),
                "effective_to": entry.get("effective_to"),
            }
        )  # also checks that every field set is one a price has
        out.append(
            Correction(
                id=str(entry["id"]),
                provider=str(entry["provider"]).lower(),
                model=str(entry["model"]).lower(),
                set=dict(entry["set"]),
                url=str(entry["url"]),
                checked=date.fromisoformat(str(entry["checked"])),
                why=str(entry["why"]),
                effective_from=dates.effective_from,
                effective_to=dates.effective_to,
            )
        )
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"corrections: duplicate ids in {sorted(ids)}")
    return tuple(out)


@cache
def load_corrections() -> tuple[Correction, ...]:
    """The corrections shipped with the package (read once per process)."""
    text = files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse(json.loads(text))


def in_force(corrections: Iterable[Correction], at: datetime) -> dict[tuple[str, str], Correction]:
    """The correction in force at ``at`` per (provider, model key)."""
    return {c.key: c for c in corrections if c.covers(at)}


def apply_corrections(prices: Iterable[Price], corrections: Iterable[Correction]) -> list[Price]:
    """The prices with every correction applied, in the same order.

    A row a correction overlaps is split: the part before the correction and
    the part after it stay upstream's, the part inside it takes the
    correction's fields. Overrides are left alone.
    """
    by_key: dict[tuple[str, str], list[Correction]] = {}
    for correction in corrections:
        by_key.setdefault(correction.key, []).append(correction)
    out: list[Price] = []
    for price in prices:
        pieces = [price]
        if not price.is_override:
            for correction in by_key.get((price.provider, model_key(price.model)), ()):
                pieces = [part for piece in pieces for part in _split(piece, correction)]
        out.extend(pieces)
    return out


def _split(price: Price, correction: Correction) -> list[Price]:
    if price.source == SOURCE or not correction.overlaps(price.effective_from, price.effective_to):
        return [price]
    start, end = correction.effective_from, correction.effective_to
    parts = []
    if start is not None and (price.effective_from is None or price.effective_from < start):
        parts.append(dataclasses.replace(price, effective_to=start))
    inside_from = price.effective_from if start is None else _later(price.effective_from, start)
    inside_to = price.effective_to if end is None else _earlier(price.effective_to, end)
    parts.append(
        dataclasses.replace(
            correction.apply(price), effective_from=inside_from, effective_to=inside_to
        )
    )
    if end is not None and (price.effective_to is None or price.effective_to > end):
        parts.append(dataclasses.replace(price, effective_from=end))
    return parts


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else max(a, b)


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else min(a, b)


def upstream_disagreement(correction: Correction, upstream: Iterable[Price]) -> str | None:
    """What the upstream rows still say against the correction (None when
    upstream has caught up, and the correction is no longer needed).

    Upstream is read at the correction's first moment (or its last, when it
    has no start): the row of the same provider and model in effect then.
    """
    at = correction.effective_from
    if at is None and correction.effective_to is not None:
        at = correction.effective_to - timedelta(seconds=1)
    rows = [
        p
        for p in upstream
        if (p.provider, model_key(p.model)) == correction.key
        and not p.is_override
        and (at is None or _covers(p, at))
    ]
    if not rows:
        return f"no upstream row for {correction.provider}/{correction.model} at {at}"
    said = price_to_dict(rows[-1])["rates"]
    wrong = [
        f"{name}: upstream {said.get(name)!r}, corrected {value!r}"
        for name, value in correction.set.items()
        if _normal(said.get(name)) != _normal(value)
    ]
    return "; ".join(wrong) or None


def _covers(price: Price, at: datetime) -> bool:
    if price.effective_from is not None and at < price.effective_from:
        return False
    return price.effective_to is None or at < price.effective_to


def _normal(value: Any) -> Any:
    """A serialized field in a form where equal prices compare equal."""
    if value in (None, [], {}):
        return None
    try:
        return Decimal(value) if isinstance(value, str) else value
    except ArithmeticError:
        return value


def corrected_default_prices() -> list[Price]:
    """The shipped catalog with the shipped corrections applied: what seeds a database."""
    from budget.pricing.default_catalog import load_default_prices

    return apply_corrections(load_default_prices(), load_corrections())
