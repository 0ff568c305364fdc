"""Routing decisions at each budget state (the budget's answers are stubbed)."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from budget.domain.prices import Price, PriceRates, Rate, TokenUsage
from budget.engine.insight import routing
from budget.engine.insight.recommend import TokenMix
from budget.errors import Denial, ValidationError
from budget.settings import Settings

RESET = datetime(2026, 11, 30, tzinfo=UTC)
PREFERRED = Price("openai", "gpt-4o", PriceRates(Rate(D(2)), Rate(D(8))), source="test")


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

    def rank(ctx, current, mix, constraints, now):
        state["asked"].append(constraints)
        return [SimpleNamespace(provider="openai", model=m) for m in state["candidates"]]

    monkeypatch.setattr(routing, "current_price", lambda ctx, m, p, now: PREFERRED)
    mix = TokenMix(1, TokenUsage(3000, 1000), "default", "x")
    monkeypatch.setattr(routing, "token_mix", lambda *a, **k: mix)
    monkeypatch.setattr(routing, "rank", rank)
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


def test_over_a_soft_limit_the_first_cheaper_model_that_fits(stub):
    stub["answers"] = {"gpt-4o": OVER_SOFT, "gpt-4o-mini": OVER_SOFT, "gpt-4.1-nano": GRANTED}
    d = route(input_tokens=1000, max_output_tokens=500)
    assert d.decision == "cheaper" and d.model == "gpt-4.1-nano"
    assert [c.outcome for c in d.considered] == ["over_soft_limit", "over_soft_limit", "granted"]
    assert stub["asked"][0].min_context_window == 1500  # the request must fit


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
