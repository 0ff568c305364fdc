"""Routing decisions at each budget state (the budget's answers are stubbed)."""

from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from budget.domain.enums import Tier
from budget.domain.prices import Price, PriceRates, Rate, TokenUsage
from budget.engine import routing
from budget.engine.insight.recommend import Candidate, TokenMix
from budget.errors import Denial, ValidationError
from budget.settings import Settings

RESET = datetime(2026, 11, 30, tzinfo=UTC)
PREFERRED = Price("openai", "gpt-4o", PriceRates(Rate(D(2)), Rate(D(8))), source="test")
#: USD per million input / output tokens of the candidates the stub offers.
RATES = {"gpt-4o-mini": (D("0.15"), D("0.6")), "gpt-4.1-nano": (D("0.1"), D("0.4"))}


def candidate(model: str) -> Candidate:
    inp, out = RATES[model]
    price = Price("openai", model, PriceRates(Rate(inp), Rate(out)), source="test")
    return Candidate(price, Tier.REMOTE_HEAVYWEIGHT, None, None, ("same provider",))


def denial(resets_at=RESET) -> Denial:
    return Denial("bud", "pol", "daily", "2026-11-29", "usd", D(1), D(1), D(0), D("0.1"), resets_at)


GRANTED = SimpleNamespace(
    allowed=True, over_soft_limit=False, denials=(), estimated_cost=D("0.01"), tokens=1500
)
OVER_SOFT = SimpleNamespace(
    allowed=True, over_soft_limit=True, denials=(), estimated_cost=D("0.01"), tokens=1500
)
DENIED = SimpleNamespace(
    allowed=False,
    over_soft_limit=False,
    denials=(denial(),),
    estimated_cost=D("0.01"),
    tokens=1500,
)


class _Db:
    @contextmanager
    def read(self):
        yield None


@pytest.fixture
def stub(monkeypatch):
    """Answers per model; the candidates routing is offered; what rank was asked."""
    state = {"answers": {}, "candidates": ["gpt-4o-mini", "gpt-4.1-nano"], "asked": []}
    state["refused"] = {}

    def screen(ctx, current, constraints, now):
        state["asked"].append(constraints)
        return [candidate(m) for m in state["candidates"]], Counter(state["refused"])

    monkeypatch.setattr(routing, "current_price", lambda ctx, m, p, now: PREFERRED)
    mix = TokenMix(1, TokenUsage(3000, 1000), "default", "x")
    monkeypatch.setattr(routing, "token_mix", lambda *a, **k: mix)
    monkeypatch.setattr(routing, "screen", screen)
    monkeypatch.setattr(
        routing, "_dry_run", lambda ctx, provider, model, request: state["answers"][model]
    )
    return state


def route(local: str | None = None, **request):
    ctx = SimpleNamespace(settings=Settings(route_local_model=local), db=_Db())
    return routing.route_request(ctx, preferred_model="gpt-4o", **request)


def test_the_preferred_model_when_the_budget_allows(stub):
    stub["answers"] = {"gpt-4o": GRANTED}
    d = route()
    assert d.decision == "preferred" and d.model == "gpt-4o" and d.allowed
    assert [c.outcome for c in d.considered] == ["granted"]


def test_over_a_soft_limit_the_cheapest_model_that_fits(stub):
    stub["answers"] = {"gpt-4o": OVER_SOFT, "gpt-4o-mini": GRANTED, "gpt-4.1-nano": GRANTED}
    d = route(input_tokens=1000, max_output_tokens=500)
    assert d.decision == "cheaper" and d.model == "gpt-4.1-nano"
    assert [c.outcome for c in d.considered] == ["over_soft_limit", "granted"]
    asked = stub["asked"][0]
    assert (asked.input_tokens, asked.output_tokens, asked.explicit) == (1000, 500, True)
    assert d.reason.startswith(
        "the preferred model passes a soft limit; openai/gpt-4.1-nano is the cheapest "
        "openai model that fits"
    )
    # costed on this request: 1,000 in + 500 out at $0.10 / $0.40 per million
    assert d.recommendation.cost_per_request == D("0.0003")


def test_a_candidate_the_budget_refuses_gives_way_to_the_next_cheapest(stub):
    stub["answers"] = {"gpt-4o": DENIED, "gpt-4.1-nano": DENIED, "gpt-4o-mini": GRANTED}
    d = route(input_tokens=1000, max_output_tokens=500)
    assert d.decision == "cheaper" and d.model == "gpt-4o-mini"
    assert [c.model for c in d.considered] == ["gpt-4o", "gpt-4.1-nano", "gpt-4o-mini"]


def test_a_request_the_preferred_model_cannot_hold_is_not_routed_to_it(stub):
    # gpt-4o holds 128,000 tokens (the shipped facts); the stub offers no candidate.
    stub["candidates"] = []
    stub["refused"] = {"context window cannot hold 5,010,000 tokens": 7}
    stub["answers"] = {"gpt-4o": GRANTED}
    d = route(input_tokens=5_000_000, max_output_tokens=10_000)
    assert d.decision == "denied" and d.model is None
    assert d.reason == (
        "the preferred model's context window (128,000 tokens, 16,384 output) cannot hold "
        "5,000,000 input + 10,000 output tokens; no model fits (7 context window cannot "
        "hold 5,010,000 tokens), and no local model"
    )


def test_a_larger_model_when_the_preferred_one_cannot_hold_the_request(stub):
    stub["answers"] = {"gpt-4o": GRANTED, "gpt-4o-mini": GRANTED, "gpt-4.1-nano": GRANTED}
    stub["candidates"] = ["gpt-4.1-nano"]  # as screened: its window holds 1,047,576 tokens
    d = route(input_tokens=200_000, max_output_tokens=1_000)
    assert d.decision == "larger_context" and d.model == "gpt-4.1-nano"
    assert d.reason.startswith("the preferred model's context window (128,000 tokens")


def test_denied_everywhere_but_the_local_model(stub):
    stub["answers"] = {
        "gpt-4o": DENIED,
        "gpt-4o-mini": DENIED,
        "gpt-4.1-nano": DENIED,
        "llama3.1": GRANTED,
    }
    d = route(local="ollama/llama3.1")
    assert d.decision == "local" and (d.provider, d.model) == ("ollama", "llama3.1")


def test_only_soft_limits_in_the_way_keeps_the_preferred_model(stub):
    stub["answers"] = {"gpt-4o": OVER_SOFT, "gpt-4o-mini": DENIED, "gpt-4.1-nano": DENIED}
    d = route()
    assert "no model fits (2 refused by the budget)" in d.reason
    assert d.decision == "preferred_over_soft_limit" and d.model == "gpt-4o" and d.over_soft_limit


def test_a_denial_says_when_the_budget_returns(stub):
    later = RESET + timedelta(days=2)
    stub["answers"] = {
        "gpt-4o": SimpleNamespace(**{**vars(DENIED), "denials": (denial(), denial(later))}),
        "gpt-4o-mini": DENIED,
        "gpt-4.1-nano": DENIED,
    }
    d = route()
    assert d.decision == "denied" and not d.allowed and d.model is None
    assert d.retry_at == later  # every refusing window must have reset
    assert d.to_dict()["denials"][0]["policy_id"] == "pol"


def test_a_window_that_never_resets_has_no_return_time(stub):
    stub["candidates"] = []
    stub["answers"] = {"gpt-4o": SimpleNamespace(**{**vars(DENIED), "denials": (denial(None),)})}
    assert route().retry_at is None


def test_unknown_attributes_are_refused(stub):
    stub["answers"] = {"gpt-4o": GRANTED}
    with pytest.raises(ValidationError) as err:
        route(colour="blue")
    assert err.value.field == "colour"
