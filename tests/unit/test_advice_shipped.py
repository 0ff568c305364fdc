"""Recommend and route on the SHIPPED catalog and model facts (no database).

The dates are pinned: lifecycle states follow the shutdown dates the shipped
facts carry (LiteLLM's ``deprecation_date``), so the day decides what is
current. The assertions are about properties (current chat models, the
cheapest that fits), not about which model wins, so a regenerated catalog
keeps them meaningful.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from budget.domain.prices import TokenUsage
from budget.engine import pricing, routing
from budget.engine.insight.eligibility import Constraints
from budget.engine.insight.recommend import (
    SPECIAL_FAMILIES,
    TASK_FAMILIES,
    TokenMix,
    current_price,
    rank,
)
from budget.pricing import facts
from budget.pricing.catalog import PriceCatalog
from budget.pricing.default_catalog import load_default_prices
from budget.settings import Settings

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
DEFAULT = TokenMix(1, TokenUsage(3000, 1000), "default", "a default request")


@pytest.fixture(scope="module")
def ctx():
    return SimpleNamespace(catalog=PriceCatalog(load_default_prices()), settings=Settings())


def _sensible(provider: str, model: str) -> None:
    found = facts.lookup(provider, model)
    assert found is not None, f"{provider}/{model} has no facts"
    assert found.lifecycle(NOW.date()) == "current", f"{provider}/{model}"
    assert found.mode == "chat" and not found.base and not found.fine_tuned, found
    assert not any(family in model for family in SPECIAL_FAMILIES + TASK_FAMILIES), model


def test_recommendations_for_gpt_4o_are_current_chat_models(ctx):
    current = current_price(ctx, "gpt-4o", "openai", NOW)
    recs = rank(ctx, current, DEFAULT, Constraints(), NOW)
    assert recs, "the shipped catalog has cheaper current chat models than gpt-4o"
    for rec in recs:
        _sensible(rec.provider, rec.model)
        assert any(reason.startswith("current chat model") for reason in rec.reasons)


def test_what_include_lets_in_is_only_what_it_names(ctx):
    current = current_price(ctx, "gpt-4o", "openai", NOW)
    limits = Constraints(same_provider=True, include=frozenset({"retired", "fine_tuned"}))
    states = set()
    for rec in rank(ctx, current, DEFAULT, limits, NOW):
        found = facts.lookup(rec.provider, rec.model)
        states.add(found.lifecycle(NOW.date()))
        assert not found.base and found.mode == "chat"
    assert "deprecated" not in states and "unknown" not in states


def _route(ctx, monkeypatch, granted=lambda provider, model: True, **request):
    """route_request on the shipped catalog with a budget that grants what ``granted`` says."""

    def dry_run(_ctx, provider, model, _request):
        ok = granted(provider, model)
        return SimpleNamespace(
            allowed=ok, over_soft_limit=False, denials=(), estimated_cost=None, tokens=0
        )

    monkeypatch.setattr(routing, "_dry_run", dry_run)
    monkeypatch.setattr(routing, "utcnow", lambda: NOW)
    return routing.route_request(ctx, preferred_model="gpt-4o", provider="openai", **request)


def test_route_picks_the_cheapest_fitting_model_of_the_provider(ctx, monkeypatch):
    decision = _route(
        ctx,
        monkeypatch,
        granted=lambda provider, model: model != "gpt-4o",
        input_tokens=20_000,
        max_output_tokens=2_000,
        capabilities=["tools"],
    )
    assert decision.decision == "cheaper" and decision.provider == "openai"
    _sensible(decision.provider, decision.model)
    # Independently: every current openai chat model with tools that holds the
    # request costs at least as much as the one chosen.
    usage = TokenUsage(20_000, 2_000)
    chosen = pricing.cost_of(ctx.catalog.lookup("openai", decision.model, NOW), usage, NOW)
    for price in ctx.catalog.select(provider="openai", at=NOW):
        found = facts.lookup("openai", price.model)
        if (
            found is None
            or found.lifecycle(NOW.date()) != "current"
            or found.mode != "chat"
            or found.base
            or found.fine_tuned
            or "tools" not in found.capabilities
            or not found.holds(20_000, 2_000)
            or any(family in price.model for family in SPECIAL_FAMILIES)
        ):
            continue
        cost = pricing.cost_of(price, usage, NOW)
        assert cost is None or cost.total_nanos >= chosen.total_nanos, price.model
    assert "is the cheapest openai model that fits" in decision.reason
    assert "tools" in " ".join(decision.recommendation.reasons)


def test_a_5m_token_request_is_not_routed_to_a_128k_model(ctx, monkeypatch):
    decision = _route(ctx, monkeypatch, input_tokens=5_000_000, max_output_tokens=10_000)
    assert decision.decision != "preferred"
    assert decision.reason.startswith(
        "the preferred model's context window (128,000 tokens, 16,384 output) cannot hold "
        "5,000,000 input + 10,000 output tokens"
    )
    if decision.allowed:
        assert facts.lookup(decision.provider, decision.model).holds(5_000_000, 10_000)
    else:
        assert "context window cannot hold 5,010,000 tokens" in decision.reason


def test_a_request_over_128k_goes_to_a_current_model_that_holds_it(ctx, monkeypatch):
    decision = _route(ctx, monkeypatch, input_tokens=200_000, max_output_tokens=4_000)
    assert decision.decision == "larger_context"
    _sensible(decision.provider, decision.model)
    assert facts.lookup(decision.provider, decision.model).holds(200_000, 4_000)


def test_when_nothing_fits_the_reason_counts_each_refusal(ctx, monkeypatch):
    decision = _route(
        ctx,
        monkeypatch,
        granted=lambda provider, model: False,
        input_tokens=1_000,
        max_output_tokens=100,
        same_provider=True,
    )
    assert decision.decision == "denied"
    assert "no model fits (" in decision.reason
    assert "refused by the budget" in decision.reason and "retired" in decision.reason
