"""The LangChain callback handler with langchain-core's fake chat models, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

import budget
from budget.integrations.langchain import BudgetCallbackHandler

USAGE = {
    "input_tokens": 1200,
    "output_tokens": 300,
    "total_tokens": 1500,
    "input_token_details": {"cache_read": 800, "cache_creation": 100},
    "output_token_details": {"reasoning": 120},
}
EXPECTED = {
    "input_tokens": 1200,
    "output_tokens": 300,
    "cached_input_tokens": 800,
    "cache_write_tokens": 100,
    "reasoning_tokens": 120,
}


class OpenAILikeFake(GenericFakeChatModel):
    """A fake chat model that names its provider and model as real ones do."""

    calls: int = 0

    def _get_ls_params(self, stop=None, **kwargs: Any):
        return {**super()._get_ls_params(stop=stop, **kwargs), "ls_provider": "openai",
                "ls_model_name": "gpt-4o-mini"}  # fmt: skip

    def _generate(self, *args: Any, **kwargs: Any):
        self.calls += 1
        return super()._generate(*args, **kwargs)


class BrokenModel(GenericFakeChatModel):
    def _generate(self, *args: Any, **kwargs: Any):
        raise RuntimeError("the provider failed")


def _model(*ids: str, cls=OpenAILikeFake):
    answers = [AIMessage(content="ok", id=i, usage_metadata=USAGE) for i in ids]
    return cls(messages=iter(answers))


@pytest.fixture
def team(svc):
    team = svc.create_budget(name="team", owner="tests")
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10_000_000)
    return team


def _reserved(svc, team) -> int:
    return sum(w.tokens_reserved for w in svc.summary(team.budget_id).windows)


def _counts(record) -> dict[str, int]:
    return {k: getattr(record, k) for k in EXPECTED}


def test_chat_model_run_records_each_kind_and_releases(svc, team):
    handler = BudgetCallbackHandler(svc, provider="openai", model="gpt-4o", project="search")
    answer = _model("chatcmpl-1").invoke("Say ok.", config={"callbacks": [handler]})
    [record] = svc.list_usage()
    assert record.request_id == answer.id == "chatcmpl-1"
    assert _counts(record) == EXPECTED
    assert (record.attributes.provider, record.attributes.model) == ("openai", "gpt-4o")
    assert record.attributes.project == "search"
    assert record.cost == svc.estimate_cost(provider="openai", model="gpt-4o", **EXPECTED).cost
    assert svc.get_allocation(record.allocation_id).status == "released"
    assert _reserved(svc, team) == 0


def test_names_come_from_the_model_when_not_given(svc, team):
    handler = BudgetCallbackHandler(svc)
    _model("chatcmpl-2").invoke("Say ok.", config={"callbacks": [handler]})
    [record] = svc.list_usage()
    assert (record.attributes.provider, record.attributes.model) == ("openai", "gpt-4o-mini")
    assert record.priced


def test_refusal_stops_the_run_before_the_model(svc, team):
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", cost_limit=Decimal("0.0001"))
    model = _model("chatcmpl-3")
    with pytest.raises(budget.BudgetExceeded) as denied:
        model.invoke("Say ok.", config={"callbacks": [BudgetCallbackHandler(svc)]})
    assert denied.value.limit == Decimal("0.0001")
    assert model.calls == 0
    assert list(svc.list_usage()) == [] and svc.list_allocations() == []


def test_a_repeated_response_id_counts_once(svc, team):
    handler = BudgetCallbackHandler(svc)
    model = _model("chatcmpl-same", "chatcmpl-same")
    model.invoke("Say ok.", config={"callbacks": [handler]})
    model.invoke("Say ok.", config={"callbacks": [handler]})
    assert model.calls == 2
    assert len(svc.list_usage()) == 1
    assert all(a.status == "released" for a in svc.list_allocations())
    assert _reserved(svc, team) == 0
    assert svc.summary(team.budget_id).windows[0].tokens_used == 1500


def test_a_failed_run_releases(svc, team):
    handler = BudgetCallbackHandler(svc, provider="openai", model="gpt-4o")
    with pytest.raises(RuntimeError, match="the provider failed"):
        _model(cls=BrokenModel).invoke("Say ok.", config={"callbacks": [handler]})
    [allocation] = svc.list_allocations()
    assert allocation.status == "released"
    assert list(svc.list_usage()) == [] and _reserved(svc, team) == 0


def test_async_runs_reserve_record_and_refuse(svc, team):
    handler = BudgetCallbackHandler(svc)

    async def run():
        await _model("chatcmpl-4").ainvoke("Say ok.", config={"callbacks": [handler]})
        svc.add_policy(
            team.budget_id, type="hard_limit", period="daily", cost_limit=Decimal("0.0001")
        )
        refused = _model("chatcmpl-5")
        with pytest.raises(budget.BudgetExceeded):
            await refused.ainvoke("Say ok.", config={"callbacks": [handler]})
        return refused.calls

    assert asyncio.run(run()) == 0
    [record] = svc.list_usage()
    assert record.request_id == "chatcmpl-4" and _counts(record) == EXPECTED
    assert _reserved(svc, team) == 0


def test_llm_run_without_usage_releases(svc, team):
    handler = BudgetCallbackHandler(svc, provider="openai", model="gpt-4o")
    FakeListLLM(responses=["ok"]).invoke("Say ok.", config={"callbacks": [handler]})
    [allocation] = svc.list_allocations()
    assert allocation.status == "released" and allocation.tokens_reserved > 0
    assert list(svc.list_usage()) == []


def test_the_providers_response_id_is_the_request_id(svc, team):
    answer = AIMessage(content="ok", usage_metadata=USAGE, response_metadata={"id": "chatcmpl-9"})
    model = OpenAILikeFake(messages=iter([answer]))
    model.invoke("Say ok.", config={"callbacks": [BudgetCallbackHandler(svc)]})
    [record] = svc.list_usage()
    assert record.request_id == "chatcmpl-9"
