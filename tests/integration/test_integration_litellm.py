"""The LiteLLM callback, through LiteLLM's own completion calls against the fake
provider, on SQLite and PostgreSQL; and the proxy's pre-call hook called as
the proxy calls it."""

from __future__ import annotations

import asyncio
import os
import time
from decimal import Decimal

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
litellm = pytest.importorskip("litellm")
pytest.importorskip("fastapi")

from fake_llm import FakeLLM, Usage  # noqa: E402
from fastapi import HTTPException  # noqa: E402
from litellm.proxy._types import UserAPIKeyAuth  # noqa: E402

import budget  # noqa: E402
from budget.integrations.litellm import ALLOCATION_KEY, BudgetCallback  # noqa: E402

MESSAGES = [{"role": "user", "content": "Say ok."}]
TIMEOUT = 15.0


@pytest.fixture
def fake():
    with FakeLLM(Usage(input=1200, output=300, cached=1000, reasoning=100)) as server:
        yield server


@pytest.fixture
def team(svc):
    team = svc.create_budget(name="team", owner="tests")
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10_000_000)
    return team


@pytest.fixture
def handler(svc):
    callback = BudgetCallback(svc, component="tests")
    litellm.logging_callback_manager._reset_all_callbacks()
    litellm.callbacks = [callback]
    try:
        yield callback
    finally:
        litellm.logging_callback_manager._reset_all_callbacks()


def _openai(fake, **more):
    return dict(
        model="openai/gpt-4o",
        api_base=fake.openai_url,
        api_key="x",
        messages=MESSAGES,
        max_tokens=500,
        num_retries=0,
        **more,
    )


def _usage(svc, count=1):
    """The usage records, once ``count`` of them are there (hooks run in the background)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        records = list(svc.list_usage())
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


async def _ausage(svc, count=1):
    deadline = time.monotonic() + TIMEOUT
    while True:
        records = list(svc.list_usage())
        if len(records) >= count or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.02)


def _released(svc, team, allocation_ids=()):
    """True once nothing is reserved and every named allocation is closed."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        windows = svc.summary(team.budget_id).windows
        closed = all(svc.get_allocation(a).status != "active" for a in allocation_ids)
        if closed and all(w.tokens_reserved == 0 and w.cost_reserved == 0 for w in windows):
            return True
        time.sleep(0.02)
    return False


def _assert_counts(svc, record, *, provider, model, **counts):
    assert record.attributes.provider == provider
    assert record.attributes.model == model
    got = {k: getattr(record, k) for k in counts}
    assert got == counts
    estimate = svc.estimate_cost(provider=provider, model=model, **counts)
    assert estimate.priced and record.cost == estimate.cost


def _allocations(svc):
    return [a.allocation_id for a in svc.list_allocations()]


def test_completion_records_each_kind_and_releases(svc, team, fake, handler):
    answer = handler.completion(**_openai(fake))
    [record] = _usage(svc)
    assert record.request_id == answer.id
    assert record.attributes.component == "tests"
    _assert_counts(
        svc,
        record,
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        output_tokens=300,
        cached_input_tokens=1000,
        cache_write_tokens=0,
        reasoning_tokens=100,
    )
    assert record.allocation_id in _allocations(svc)
    assert _released(svc, team, [record.allocation_id])
    assert svc.summary(team.budget_id).windows[0].tokens_used == 1500


def test_plain_litellm_completion_is_recorded(svc, team, fake, handler):
    answer = litellm.completion(**_openai(fake))
    [record] = _usage(svc)
    assert record.request_id == answer.id and record.allocation_id is None
    assert (record.input_tokens, record.output_tokens) == (1200, 300)


def test_acompletion_records_and_releases(svc, team, fake, handler):
    async def run():
        answer = await handler.acompletion(**_openai(fake))
        return answer, await _ausage(svc)

    answer, [record] = asyncio.run(run())
    assert record.request_id == answer.id
    _assert_counts(
        svc,
        record,
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        output_tokens=300,
        cached_input_tokens=1000,
        reasoning_tokens=100,
    )
    assert _released(svc, team, [record.allocation_id])


def test_anthropic_cache_reads_and_writes_count_once(svc, team, fake, handler):
    fake.usage = Usage(input=1200, output=300, cached=1000, cache_write=50)
    handler.completion(
        model="anthropic/claude-sonnet-4-5",
        api_base=fake.anthropic_url,
        api_key="x",
        messages=MESSAGES,
        max_tokens=500,
        num_retries=0,
    )
    [record] = _usage(svc)
    # Anthropic's input_tokens excludes cache reads and writes; Budget's includes them.
    _assert_counts(
        svc,
        record,
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=2250,
        output_tokens=300,
        cached_input_tokens=1000,
        cache_write_tokens=50,
        reasoning_tokens=0,
    )
    assert _released(svc, team, [record.allocation_id])


def test_refused_call_never_reaches_the_provider(svc, team, fake, handler):
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", cost_limit=Decimal("0.001"))
    with pytest.raises(budget.BudgetExceeded) as denied:
        handler.completion(**_openai(fake))
    with pytest.raises(budget.BudgetExceeded):
        asyncio.run(handler.acompletion(**_openai(fake)))
    assert denied.value.limit == Decimal("0.001")
    assert fake.count() == 0
    assert svc.list_allocations() == [] and _released(svc, team)


def test_a_repeated_response_id_counts_once(svc, team, fake, handler, monkeypatch):
    monkeypatch.setattr(fake, "next_id", lambda prefix: f"{prefix}_same")
    first = handler.completion(**_openai(fake))
    second = handler.completion(**_openai(fake))
    assert first.id == second.id == "chatcmpl_same"
    assert _released(svc, team, _allocations(svc))
    assert len(_usage(svc, 2)) == 1
    assert svc.summary(team.budget_id).windows[0].tokens_used == 1500


def test_a_hook_that_fires_twice_settles_once(svc, team, fake, handler):
    calls = []
    original = handler.log_success_event

    def twice(*args, **kwargs):
        calls.append(1)
        original(*args, **kwargs)
        original(*args, **kwargs)

    handler.log_success_event = twice
    handler.completion(**_openai(fake))
    assert len(_usage(svc)) == 1
    assert _released(svc, team, _allocations(svc)) and calls == [1]


def test_failure_releases_the_reservation(svc, team, fake, handler):
    fake.fail_with = 500
    with pytest.raises(litellm.exceptions.InternalServerError):
        handler.completion(**_openai(fake))
    assert fake.count() == 1
    [allocation] = svc.list_allocations()
    assert _released(svc, team, [allocation.allocation_id])
    assert list(svc.list_usage()) == []
    assert svc.summary(team.budget_id).windows[0].tokens_used == 0


def test_proxy_pre_call_hook_refuses_with_429_naming_the_policy(svc, team, handler):
    policy = svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", cost_limit=Decimal("0.001")
    )
    data = {"model": "openai/gpt-4o", "messages": MESSAGES, "max_tokens": 500}
    key = UserAPIKeyAuth(user_id="alice", key_alias="alice-key")
    with pytest.raises(HTTPException) as refused:
        asyncio.run(handler.async_pre_call_hook(key, None, data, "acompletion"))
    assert refused.value.status_code == 429
    assert refused.value.detail["policy_id"] == policy.policy_id
    assert policy.policy_id in refused.value.detail["error"]
    assert int(refused.value.headers["retry-after"]) > 0
    assert svc.list_allocations() == []


def test_proxy_request_is_reserved_then_recorded(svc, team, fake, handler):
    data = {"model": "openai/gpt-4o", "messages": MESSAGES, "max_tokens": 500}
    key = UserAPIKeyAuth(user_id="alice", key_alias="alice-key", team_id="search")

    async def run():
        admitted = await handler.async_pre_call_hook(key, None, data, "acompletion")
        allocation = svc.get_allocation(admitted["metadata"][ALLOCATION_KEY])
        assert allocation.status == "active" and allocation.tokens_reserved > 0
        answer = await litellm.acompletion(
            **admitted, api_base=fake.openai_url, api_key="x", num_retries=0
        )
        return answer, allocation, await _ausage(svc)

    answer, allocation, [record] = asyncio.run(run())
    assert record.request_id == answer.id
    assert record.allocation_id == allocation.allocation_id
    attrs = record.attributes
    assert (attrs.user, attrs.api_key, attrs.project) == ("alice", "alice-key", "search")
    assert _released(svc, team, [allocation.allocation_id])


def test_proxy_failure_hook_releases(svc, team, handler):
    data = {"model": "openai/gpt-4o", "messages": MESSAGES, "max_tokens": 500}
    admitted = asyncio.run(handler.async_pre_call_hook(None, None, data, "acompletion"))
    allocation_id = admitted["metadata"][ALLOCATION_KEY]
    asyncio.run(handler.async_post_call_failure_hook(admitted, RuntimeError("x"), None))
    assert _released(svc, team, [allocation_id])
