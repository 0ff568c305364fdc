"""budget.wrap(): the real OpenAI and Anthropic SDKs, pointed at a fake provider
on 127.0.0.1, metered by Budget on both backends."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest
from fake_llm import FakeLLM, Usage

import budget
from budget.aio import AsyncBudgetService
from budget.integrations import estimate
from budget.settings import Settings

ASK = [{"role": "user", "content": "Say hello."}]
REPORTED = Usage(input=1200, output=300, cached=1000, cache_write=50, reasoning=100)


@pytest.fixture
def fake():
    with FakeLLM(Usage(**vars(REPORTED))) as server:
        yield server


def _openai(fake, cls=openai.OpenAI):
    return cls(base_url=fake.openai_url, api_key="test", max_retries=0)


def _anthropic(fake, cls=anthropic.Anthropic):
    return cls(base_url=fake.anthropic_url, api_key="test", max_retries=0)


def _team(svc, **policy):
    team = svc.create_budget(name="team")
    svc.add_policy(team.budget_id, **({"type": "warn", "period": "daily", "token_limit": 10**9}
                                      | policy))  # fmt: skip
    return team


def _reserved(svc, team) -> tuple[int, object]:
    (window,) = svc.summary(team.budget_id).windows
    return window.tokens_reserved, window.cost_reserved


def _only_record(svc, request_id):
    (record,) = [r for r in svc.list_usage() if r.request_id == request_id]
    return record


def _kinds(record) -> tuple[int, ...]:
    return (
        record.input_tokens,
        record.output_tokens,
        record.cached_input_tokens,
        record.cache_write_tokens,
        record.reasoning_tokens,
    )


OPENAI_KINDS = (1200, 300, 1000, 0, 100)  # OpenAI's prompt tokens include its cached ones
ANTHROPIC_KINDS = (2250, 300, 1000, 50, 0)  # Anthropic reports cache reads and writes apart


def _check_recorded(svc, team, record, provider, model, kinds):
    assert _kinds(record) == kinds
    assert (record.attributes.provider, record.attributes.model) == (provider, model)
    expected = svc.estimate_cost(
        provider=provider,
        model=model,
        input_tokens=kinds[0],
        output_tokens=kinds[1],
        cached_input_tokens=kinds[2],
        cache_write_tokens=kinds[3],
        reasoning_tokens=kinds[4],
    )
    assert record.priced and record.cost == expected.cost and record.cost > 0
    assert _reserved(svc, team)[0] == 0  # recorded and released in one step


def test_openai_calls_are_reserved_recorded_and_released(svc, fake):
    team = _team(svc)
    client = budget.wrap(_openai(fake), svc, project="alpha", user="alice")
    answer = client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=500)
    record = _only_record(svc, answer.id)
    _check_recorded(svc, team, record, "openai", "gpt-4o", OPENAI_KINDS)
    assert (record.attributes.project, record.attributes.user) == ("alpha", "alice")
    answer = client.responses.create(model="gpt-4o", input="Say hello.", max_output_tokens=200)
    _check_recorded(svc, team, _only_record(svc, answer.id), "openai", "gpt-4o", OPENAI_KINDS)
    client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    (embedded,) = [r for r in svc.list_usage() if r.attributes.model == "text-embedding-3-small"]
    assert _kinds(embedded) == (1200, 0, 0, 0, 0)
    assert fake.count() == 3


def test_streams_record_their_usage_chunk_and_hide_it_unless_asked(svc, fake):
    team = _team(svc)
    client = budget.wrap(_openai(fake), svc)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True))
    assert chunks and all(c.choices for c in chunks)  # the usage chunk was not asked for
    _check_recorded(svc, team, _only_record(svc, chunks[0].id), "openai", "gpt-4o", OPENAI_KINDS)
    asked = list(
        client.chat.completions.create(
            model="gpt-4o", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert asked[-1].usage.prompt_tokens == 1200 and not asked[-1].choices
    events = list(client.responses.create(model="gpt-4o", input="Say hello.", stream=True))
    final = events[-1].response
    _check_recorded(svc, team, _only_record(svc, final.id), "openai", "gpt-4o", OPENAI_KINDS)


def test_anthropic_messages_convert_cache_reads_and_writes_once(svc, fake):
    team = _team(svc)
    claude = budget.wrap(_anthropic(fake), svc, project="alpha")
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=300, messages=ASK)
    record = _only_record(svc, message.id)
    _check_recorded(svc, team, record, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)
    with claude.messages.create(
        model="claude-sonnet-4-5", max_tokens=300, messages=ASK, stream=True
    ) as stream:
        events = list(stream)
    streamed = _only_record(svc, events[0].message.id)
    _check_recorded(svc, team, streamed, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)


def test_async_clients_are_metered_too(svc, fake):
    team = _team(svc)

    async def calls():
        client = budget.wrap(_openai(fake, openai.AsyncOpenAI), svc)
        answer = await client.chat.completions.create(model="gpt-4o", messages=ASK)
        stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True)
        ids = [chunk.id async for chunk in stream]
        claude = budget.wrap(_anthropic(fake, anthropic.AsyncAnthropic), svc)
        message = await claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=ASK
        )
        return answer.id, ids[0], message.id

    chat, streamed, message = asyncio.run(calls())
    for rid in (chat, streamed):
        _check_recorded(svc, team, _only_record(svc, rid), "openai", "gpt-4o", OPENAI_KINDS)
    record = _only_record(svc, message)
    _check_recorded(svc, team, record, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)


def test_a_refused_call_never_reaches_the_provider(svc, fake):
    team = svc.create_budget(name="tight")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=100)
    client = budget.wrap(_openai(fake), svc)
    with pytest.raises(budget.BudgetExceeded) as refused:
        client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=500)
    assert refused.value.limit == 100
    claude = budget.wrap(_anthropic(fake, anthropic.AsyncAnthropic), svc)
    with pytest.raises(budget.BudgetExceeded):
        asyncio.run(claude.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=ASK))
    assert fake.count() == 0
    assert not svc.list_usage()


def test_a_failed_call_releases_and_a_closed_stream_records_what_was_reported(svc, fake):
    team = _team(svc)
    client = budget.wrap(_openai(fake), svc)
    fake.fail_with = 500
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert _reserved(svc, team)[0] == 0 and not svc.list_usage()
    fake.fail_with = None
    fake.chunks, fake.chunk_delay = 50, 0.01
    stream = client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True)
    next(stream)
    stream.close()  # halfway: a chat stream reports usage only at its end
    assert _reserved(svc, team)[0] == 0 and not svc.list_usage()
    claude = budget.wrap(_anthropic(fake), svc)
    stream = claude.messages.create(
        model="claude-sonnet-4-5", max_tokens=300, messages=ASK, stream=True
    )
    first = next(stream)  # message_start: the input side is reported
    stream.close()
    record = _only_record(svc, first.message.id)
    assert (record.input_tokens, record.cached_input_tokens) == (2250, 1000)
    assert _reserved(svc, team)[0] == 0


def test_threads_and_tasks_never_overspend_one_hard_limit(svc, fake):
    fake.usage = Usage(input=20, output=50)  # within what each call reserves
    team = svc.create_budget(name="shared")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=2000)
    client = budget.wrap(_openai(fake), svc)
    per_call = estimate.upper_bound({"messages": ASK}) + 100
    granted, refused = [], []
    lock = threading.Lock()

    def call(_):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=ASK, max_tokens=100)
        except budget.BudgetExceeded:
            with lock:
                refused.append(1)
        else:
            with lock:
                granted.append(1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(call, range(40)))
    assert len(granted) + len(refused) == 40 and fake.count() == len(granted)
    (window,) = svc.summary(team.budget_id).windows
    assert window.tokens_used == 70 * len(granted) <= 2000 and window.tokens_reserved == 0
    assert len(granted) >= 2000 // per_call  # what fits at once was granted

    async def gather():
        aclient = budget.wrap(_openai(fake, openai.AsyncOpenAI), svc)

        async def one():
            try:
                await aclient.chat.completions.create(
                    model="gpt-4o-mini", messages=ASK, max_tokens=100
                )
                return True
            except budget.BudgetExceeded:
                return False

        return await asyncio.gather(*(one() for _ in range(50)))

    before = fake.count()
    results = asyncio.run(gather())
    assert fake.count() - before == sum(results)
    (window,) = svc.summary(team.budget_id).windows
    assert window.tokens_used + window.tokens_reserved <= 2000


def test_over_a_soft_limit_switch_sends_the_call_to_the_cheaper_model(db_url, fake):
    svc = budget.open(
        settings=Settings(database_url=db_url, fallback_models={"gpt-4o": "gpt-4o-mini"})
    )
    try:
        team = svc.create_budget(name="soft")
        svc.add_policy(team.budget_id, type="soft_limit", period="daily", cost_limit="0.000001")
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=1000)
        suggest = budget.wrap(_openai(fake), svc)
        suggest.chat.completions.create(model="gpt-4o", messages=ASK)
        switch = budget.wrap(_openai(fake), svc, on_soft_limit="switch")
        answer = switch.chat.completions.create(model="gpt-4o", messages=ASK)
        assert [body["model"] for _, body in fake.requests] == ["gpt-4o", "gpt-4o-mini"]
        assert _only_record(svc, answer.id).attributes.model == "gpt-4o-mini"
    finally:
        svc.close()


def test_wrap_keeps_the_client_interface_and_refuses_other_clients(svc, fake):
    client = budget.wrap(_openai(fake), svc)
    assert client.base_url == _openai(fake).base_url
    faster = client.with_options(timeout=5)
    answer = faster.chat.completions.create(model="gpt-4o", messages=ASK)
    assert _only_record(svc, answer.id)
    with pytest.raises(budget.ValidationError) as bad:
        budget.wrap(object(), svc)
    assert bad.value.field == "client"
    with pytest.raises(budget.ValidationError):
        budget.wrap(_openai(fake), svc, on_soft_limit="always")


def test_the_input_estimate_is_an_upper_bound():
    request = {
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Grüße, 世界! " * 20},
            {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "image"}]},
        ],
        "tools": [{"name": "f", "description": "a tool", "input_schema": {"type": "object"}}],
        "max_tokens": 700,
    }
    bound = estimate.upper_bound(request)
    text_bytes = len(("You are terse." + "Grüße, 世界! " * 20 + "and").encode())
    assert bound >= text_bytes + estimate.IMAGE_TOKENS
    assert estimate.approximate(request) < bound
    assert estimate.max_output(request) == 700
    assert estimate.max_output({"max_output_tokens": 9}) == 9
    assert estimate.max_output({}) == estimate.DEFAULT_MAX_OUTPUT


def test_streaming_helpers_are_metered_from_their_snapshots(svc, fake):
    team = _team(svc)
    claude = budget.wrap(_anthropic(fake), svc)
    with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=300, messages=ASK) as s:
        text = "".join(s.text_stream)
        message = s.get_final_message()
    assert text
    record = _only_record(svc, message.id)
    _check_recorded(svc, team, record, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)
    client = budget.wrap(_openai(fake), svc)
    with client.chat.completions.stream(model="gpt-4o", messages=ASK) as s:
        completion = s.get_final_completion()
    _check_recorded(svc, team, _only_record(svc, completion.id), "openai", "gpt-4o", OPENAI_KINDS)
    with client.responses.stream(model="gpt-4o", input="Say hello.") as s:
        response = s.get_final_response()
    _check_recorded(svc, team, _only_record(svc, response.id), "openai", "gpt-4o", OPENAI_KINDS)

    async def async_helper():
        aclaude = budget.wrap(_anthropic(fake, anthropic.AsyncAnthropic), svc)
        async with aclaude.messages.stream(
            model="claude-sonnet-4-5", max_tokens=300, messages=ASK
        ) as s:
            return (await s.get_final_message()).id

    record = _only_record(svc, asyncio.run(async_helper()))
    _check_recorded(svc, team, record, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)
    answer = client.chat.completions.parse(model="gpt-4o", messages=ASK)
    _check_recorded(svc, team, _only_record(svc, answer.id), "openai", "gpt-4o", OPENAI_KINDS)


def test_wrap_meters_the_same_through_a_remote_and_an_async_service(svc, fake):
    from _serve import serving

    team = _team(svc)
    # Generous timeouts: the server's first call loads the price catalog, which
    # has taken seconds on a loaded machine; the test is about what is metered.
    with serving(svc) as url, budget.connect(url, timeout=60) as remote:
        client = budget.wrap(_openai(fake), remote, project="alpha")
        answer = client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=200)
        _check_recorded(svc, team, _only_record(svc, answer.id), "openai", "gpt-4o", OPENAI_KINDS)

        async def through_async_services():
            ids = []
            async with budget.connect_async(url, timeout=60) as aremote:
                for asvc in (aremote, AsyncBudgetService(svc)):
                    claude = budget.wrap(_anthropic(fake, anthropic.AsyncAnthropic), asvc)
                    message = await claude.messages.create(
                        model="claude-sonnet-4-5", max_tokens=100, messages=ASK
                    )
                    ids.append(message.id)
            return ids

        for message_id in asyncio.run(through_async_services()):
            record = _only_record(svc, message_id)
            _check_recorded(svc, team, record, "anthropic", "claude-sonnet-4-5", ANTHROPIC_KINDS)
        tight = svc.create_budget(name="tight")
        svc.add_policy(tight.budget_id, type="hard_limit", period="daily", token_limit=10)
        before = fake.count()
        with pytest.raises(budget.BudgetExceeded):
            client.chat.completions.create(model="gpt-4o", messages=ASK)
        assert fake.count() == before


def test_an_async_stream_left_halfway_releases(svc, fake):
    team = _team(svc)
    fake.chunks, fake.chunk_delay = 50, 0.01

    async def halfway():
        client = budget.wrap(_openai(fake, openai.AsyncOpenAI), svc)
        stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True)
        async for _ in stream:
            break
        await stream.close()

    asyncio.run(halfway())
    assert _reserved(svc, team)[0] == 0 and not svc.list_usage()
