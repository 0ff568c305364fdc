"""Recommendation constraints and ranking, priced on a token mix (no database)."""

from datetime import UTC, datetime
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from budget.domain.enums import Tier
from budget.domain.prices import Price, PriceRates, Rate, TokenUsage
from budget.engine.insight import recommend
from budget.engine.insight.recommend import Constraints, TokenMix, rank
from budget.errors import ValidationError
from budget.pricing import facts
from budget.pricing.catalog import PriceCatalog
from budget.settings import Settings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def price(provider, model, inp, out, cached=None, window=128_000, **extra) -> Price:
    return Price(
        provider=provider,
        model=model,
        rates=PriceRates(
            input=Rate(D(str(inp))),
            output=Rate(D(str(out))),
            cached_input=None if cached is None else Rate(D(str(cached))),
        ),
        source="test",
        context_window=window,
        extra=extra,
    )


CURRENT = price("acme", "big", 10, 40, cached=1)
CATALOG = [
    CURRENT,
    price("acme", "medium", 5, 20, cached=0.5),
    price("acme", "small", 1, 4, cached=0.1, window=32_000),
    price("acme", "almost", 9.5, 38),  # 5 % cheaper: not worth a switch
    price("acme", "old", 2, 8, deprecated=True),
    price("acme", "embed-1", 0.1, 0.1),
    price("other", "medium", 4, 16, window=200_000),
    price("acme", "dearer", 20, 80),
]
MIX = TokenMix(10, TokenUsage(30_000, 10_000), "model", "10 requests")


#: What the (fictional) sources list: every acme/other model is a current chat
#: model, except those that say otherwise.
ENTRIES = [
    {"source": "litellm", "provider": p, "model": m, "mode": "chat"}
    for p, m in [
        ("acme", "big"),
        ("acme", "medium"),
        ("acme", "small"),
        ("acme", "almost"),
        ("acme", "old"),
        ("acme", "dearer"),
        ("acme", "cur"),
        ("acme", "a"),
        ("acme", "b"),
        ("other", "medium"),
    ]
] + [{"source": "litellm", "provider": "acme", "model": "embed-1", "mode": "embedding"}]


@pytest.fixture(autouse=True)
def known_facts(monkeypatch):
    """Recommendations read these facts instead of the shipped ones."""
    table = {"entries": list(ENTRIES)}

    def install(*extra):
        table["entries"] = [*ENTRIES, *extra]
        index = facts.build_index(table["entries"])
        monkeypatch.setattr(recommend, "facts_of", lambda p, m: facts.lookup(p, m, index))

    install()
    return install


def ctx(**settings) -> SimpleNamespace:
    return SimpleNamespace(catalog=PriceCatalog(CATALOG), settings=Settings(**settings))


def names(recs) -> list[str]:
    return [f"{r.provider}/{r.model}" for r in recs]


def test_cheaper_qualifying_models_same_provider_first_then_nearest():
    recs = rank(ctx(), CURRENT, MIX, Constraints(), NOW)
    assert names(recs) == ["acme/medium", "acme/small", "other/medium"]
    medium = recs[0]
    # per request 3,000 in + 1,000 out: big $0.07, medium $0.035; times 10 requests
    assert medium.current_cost == D("0.7") and medium.estimated_cost == D("0.35")
    assert medium.saving == D("0.35") and medium.saving_share == D("0.5000")
    assert medium.reasons[0].startswith("50.0% cheaper on 10 requests")
    assert "same provider" in medium.reasons


def test_same_provider_only():
    assert "other/medium" not in names(
        rank(ctx(), CURRENT, MIX, Constraints(same_provider=True), NOW)
    )


def test_minimum_context_window():
    recs = rank(ctx(), CURRENT, MIX, Constraints(min_context_window=150_000), NOW)
    assert names(recs) == ["other/medium"]
    assert "context window 200,000 >= 150,000 tokens" in recs[0].reasons


def test_capabilities_must_be_known_and_present():
    caps = {"acme/medium": ["tools"], "small": ["tools", "vision"]}
    recs = rank(
        ctx(model_capabilities=caps),
        CURRENT,
        MIX,
        Constraints(capabilities=frozenset({"vision"})),
        NOW,
    )
    assert names(recs) == ["acme/small"]
    assert "supports vision" in recs[0].reasons


def test_maximum_tier():
    tiers = {"small": Tier.LOCAL_MIDWEIGHT}
    limits = Constraints(max_tier=Tier.LOCAL_MIDWEIGHT)
    recs = rank(ctx(model_tiers=tiers), CURRENT, MIX, limits, NOW)
    assert names(recs) == ["acme/small"] and recs[0].tier is Tier.LOCAL_MIDWEIGHT


def test_the_token_mix_decides_which_model_is_cheaper():
    current = price("acme", "cur", 2, 8, cached=0.2)
    catalog = PriceCatalog(
        [current, price("acme", "a", 1, 4, cached=0.1), price("acme", "b", 0.8, 4)]
    )
    context = SimpleNamespace(catalog=catalog, settings=Settings())

    def cheapest_first(mix: TokenMix) -> list[str]:
        recs = rank(context, current, mix, Constraints(), NOW)
        return [r.model for r in sorted(recs, key=lambda r: r.estimated_cost)]

    # b has no cache-read rate: cached tokens cost its full input rate there.
    cached_heavy = TokenMix(1, TokenUsage(10_000, 100, cached_input_tokens=9_000), "model", "x")
    assert cheapest_first(cached_heavy) == ["a"]
    assert cheapest_first(TokenMix(1, TokenUsage(10_000, 100), "model", "x")) == ["b", "a"]


def test_average_request_keeps_the_token_convention():
    mix = TokenMix(
        3,
        TokenUsage(10, 5, cached_input_tokens=7, cache_write_tokens=5, reasoning_tokens=5),
        "model",
        "x",
    )
    avg = mix.per_request()
    assert (
        avg.input_tokens == 3
        and avg.cached_input_tokens + avg.cache_write_tokens <= avg.input_tokens
    )
    assert avg.reasoning_tokens <= avg.output_tokens


def test_a_model_without_rates_cannot_be_compared():
    bare = Price(provider="acme", model="bare", rates=PriceRates(), source="test")
    with pytest.raises(ValidationError) as err:
        rank(ctx(), bare, MIX, Constraints(), NOW)
    assert err.value.field == "model"


def test_retired_deprecated_base_fine_tuned_and_unlisted_models_are_left_out(known_facts):
    known_facts(
        {"source": "litellm", "provider": "acme", "model": "gone", "retires_on": "2026-11-01"},
        {"source": "litellm", "provider": "acme", "model": "going", "retires_on": "2027-03-01"},
        {"source": "litellm", "provider": "acme", "model": "raw-base", "mode": "chat"},
        {"source": "litellm", "provider": "acme", "model": "ft:medium", "mode": "chat"},
    )
    extra = [
        price("acme", m, 3, 12) for m in ("gone", "going", "raw-base", "ft:medium", "unlisted")
    ]
    context = SimpleNamespace(catalog=PriceCatalog(CATALOG + extra), settings=Settings())
    assert names(rank(context, CURRENT, MIX, Constraints(), NOW)) == [
        "acme/medium",
        "acme/small",
        "other/medium",
    ]
    everything = Constraints(
        include=frozenset({"retired", "deprecated", "base", "fine_tuned", "unknown"})
    )
    found = names(rank(context, CURRENT, MIX, everything, NOW))
    for model in ("gone", "going", "raw-base", "ft:medium", "unlisted", "old"):
        assert f"acme/{model}" in found
    assert "acme/embed-1" not in found  # another kind of model, whatever is included


def test_a_model_that_cannot_hold_the_average_request_is_left_out():
    big_requests = TokenMix(1, TokenUsage(300_000, 10_000), "model", "1 request")
    recs = rank(ctx(), CURRENT, big_requests, Constraints(), NOW)
    # acme/medium and acme/small have 128 k / 32 k windows; other/medium 200 k.
    assert names(recs) == []
    fits = TokenMix(10, TokenUsage(1_000_000, 10_000), "model", "10 requests")
    assert names(rank(ctx(), CURRENT, fits, Constraints(), NOW)) == [
        "acme/medium",
        "other/medium",
    ]


def test_an_explicit_request_needs_a_known_window():
    context = SimpleNamespace(
        catalog=PriceCatalog([CURRENT, price("acme", "medium", 5, 20, window=None)]),
        settings=Settings(),
    )
    asked = Constraints(input_tokens=1_000, output_tokens=100, explicit=True)
    assert rank(context, CURRENT, MIX, asked, NOW) == []
    assert names(rank(context, CURRENT, MIX, Constraints(), NOW)) == ["acme/medium"]


def test_screen_says_why_each_model_was_left_out():
    asked = Constraints(input_tokens=150_000, output_tokens=1_000, explicit=True)
    found, refused = recommend.screen(ctx(), CURRENT, asked, NOW)
    assert [(c.price.provider, c.price.model) for c in found] == [("other", "medium")]
    assert refused == {
        "context window cannot hold 151,000 tokens": 4,
        "deprecated": 1,
        "not a chat model (embed)": 1,
    }
