"""The reviewed corrections file: its format, how a correction splits a row,
that a refresh keeps it, and that every shipped entry is still needed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from budget.domain.prices import Price, PriceRates, Rate, TokenUsage
from budget.ingest.collect import Group
from budget.ingest.errors import SourceUnavailable
from budget.ingest.plan import Context, plan
from budget.ingest.sources.genai_prices import Stats, included, load_providers, provider_prices
from budget.ingest.verify import Tolerance
from budget.pricing.corrections import (
    CORRECTED,
    SOURCE,
    apply_corrections,
    corrected_default_prices,
    load_corrections,
    parse,
    upstream_disagreement,
)
from budget.pricing.cost import compute_cost
from budget.pricing.default_catalog import load_default_prices
from budget.pricing.platforms import normalize_platform
from budget.pricing.refresh import SourceRecord, SourceSpec, Stored

TOL = Tolerance(D("0.01"), D("0.000001"))
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def entry(**more) -> dict:
    base = {
        "id": "acme-m-fix",
        "provider": "acme",
        "model": "m-1",
        "set": {"input": "2"},
        "effective_from": "2026-01-01T00:00:00+00:00",
        "effective_to": "2026-02-01T00:00:00+00:00",
        "url": "https://acme.example/pricing",
        "checked": "2026-12-03",
        "why": "a fixture",
    }
    return {**base, **more}


def flat(inp: str, out: str) -> PriceRates:
    return PriceRates(input=Rate(D(inp)), output=Rate(D(out)))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"url": None}, "missing 'url'"),
        ({"checked": ""}, "missing 'checked'"),
        ({"url": "http://acme.example"}, "must be an https page"),
        ({"set": {}}, "'set' must name at least one field"),
        ({"set": {"inputt": "2"}}, "unknown keys"),
        ({"set": {"input": 2.5}}, "not floats"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse({"corrections": [entry(**bad)]})


def test_a_correction_splits_the_row_it_overlaps() -> None:
    (fix,) = parse({"corrections": [entry()]})
    upstream = Price("acme", "m-1", flat("1", "4"), "upstream", extra={"deprecated": True})
    before, inside, after = apply_corrections([upstream], [fix])
    assert before.effective_to == inside.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert inside.effective_to == after.effective_from == datetime(2026, 2, 1, tzinfo=UTC)
    assert before.rates == after.rates == upstream.rates and after.source == "upstream"
    assert inside.rates == flat("2", "4")  # only the field it sets
    assert (inside.source, inside.verification) == (SOURCE, CORRECTED)
    assert inside.extra == {"deprecated": True, "correction": fix.id, "upstream_source": "upstream"}
    override = Price("acme", "m-1", flat("9", "9"), "manual", is_override=True)
    assert apply_corrections([override], [fix]) == [override]


def test_the_shipped_catalog_seeds_with_the_deepseek_corrections() -> None:
    # https://api-docs.deepseek.com/quick_start/pricing (checked 2026-12-03): from
    # 16:00 UTC on 2025-09-05, deepseek-chat costs $0.56 per 1M input tokens
    # (cache miss), $0.07 (cache hit) and $1.68 output, with no nighttime discount.
    prices = corrected_default_prices()
    assert len([p for p in prices if p.source == SOURCE]) == len(load_corrections())
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    night = datetime(2025, 9, 10, 20, 0, tzinfo=UTC)  # upstream's off-peak hours
    row = next(p for p in prices if p.model == "deepseek-chat" and _covers(p, night))
    assert row.source == SOURCE and not row.time_of_day
    assert compute_cost(row, usage, night).total_usd == D("2.24")  # 0.56 + 1.68
    earlier = datetime(2025, 8, 1, 20, 0, tzinfo=UTC)  # the discount was real then
    old = next(p for p in prices if p.model == "deepseek-chat" and _covers(p, earlier))
    assert old.source == "genai-prices" and compute_cost(old, usage, earlier).total_usd == D(
        "0.685"
    )
    # https://api-docs.deepseek.com/news/news250929 and the pricing page as quoted
    # on 2026-04-13 (stored copy of benchlm.ai/blog/posts/deepseek-api-pricing,
    # checked 2026-12-03): V3.2 from 2025-09-29, $0.28 in, $0.028 cached, $0.42 out.
    v32 = datetime(2025, 12, 1, 20, 0, tzinfo=UTC)
    for model in ("deepseek-chat", "deepseek-reasoner"):
        row = next(p for p in prices if p.model == model and _covers(p, v32))
        assert row.source == SOURCE and compute_cost(row, usage, v32).total_usd == D("0.70")
    after = datetime(2026, 5, 1, tzinfo=UTC)  # V4: not corrected, upstream again
    assert next(p for p in prices if p.model == "deepseek-chat" and _covers(p, after)).source == (
        "genai-prices"
    )


def test_every_correction_is_still_needed() -> None:
    """When upstream catches up with a correction, this fails naming the entry:
    delete the entry (and say so in the commit)."""
    upstream = load_default_prices()
    stale = [c.id for c in load_corrections() if upstream_disagreement(c, upstream) is None]
    assert not stale, f"upstream now agrees with these corrections; remove them: {stale}"
    installed = _genai_prices_rows()
    if installed is not None:
        stale = [c.id for c in load_corrections() if upstream_disagreement(c, installed) is None]
        assert not stale, f"the installed genai-prices agrees with: {stale}; remove them"


def test_every_correction_names_its_page_and_date() -> None:
    for correction in load_corrections():
        assert correction.url.startswith("https://") and correction.checked.year >= 2025
        assert correction.why and correction.set


def _genai_prices_rows() -> list[Price] | None:
    """The installed genai-prices conversion of every model (None if not installed)."""
    try:
        providers, version = load_providers()
    except SourceUnavailable:  # the package is optional
        return None
    return [
        dataclasses.replace(price, provider=normalize_platform(price.provider))
        for provider in providers
        if included(provider)
        for price in provider_prices(provider, version, Stats())
    ]


def _covers(price: Price, at: datetime) -> bool:
    return (price.effective_from is None or price.effective_from <= at) and (
        price.effective_to is None or at < price.effective_to
    )


# --- a refresh keeps a correction in force -------------------------------------------


def _group(rates: PriceRates) -> Group:
    spec = SourceSpec("s1", "test", "s1", D("0.8"), 3600)
    group = Group("acme", "m-1")
    group.claims["s1"] = (spec, SourceRecord("acme", "m-1", "m-1", rates))
    return group


def _ctx(fixes) -> Context:
    spec = SourceSpec("s1", "test", "s1", D("0.8"), 3600)
    return Context(NOW, TOL, {"s1": spec}, frozenset({"s1"}), {}, True, tuple(fixes))


def test_a_refresh_applies_a_correction_in_force_and_never_undoes_it() -> None:
    (fix,) = parse({"corrections": [entry(effective_from=None, effective_to=None)]})
    upstream = Stored(Price("acme", "m-1", flat("1", "4"), "s1", price_id=5), 0)
    groups = {("acme", "m-1"): _group(flat("1", "4"))}  # the source still says 1
    first = plan(groups, {("acme", "m-1"): upstream}, _ctx([fix]))
    (insert,) = first.inserts
    assert first.end_dated == [5]
    assert insert.price.rates == flat("2", "4") and insert.price.source == SOURCE
    assert insert.price.extra["field_verification"]["input"] == CORRECTED
    corrected = Stored(
        Price(
            "acme",
            "m-1",
            flat("2", "4"),
            SOURCE,
            price_id=6,
            verification=CORRECTED,
            extra=insert.price.extra,
        ),
        0,
    )
    second = plan(groups, {("acme", "m-1"): corrected}, _ctx([fix]))
    assert not second.inserts and not second.end_dated and not second.statuses
    assert second.totals["unchanged"] == 1
