"""The OpenTelemetry span processor with the SDK's TracerProvider and manual
GenAI spans, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider

from budget.integrations.otel import BudgetSpanProcessor

CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-otel-1",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.reasoning.output_tokens": 100,
}
KINDS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
         "reasoning_tokens")  # fmt: skip


def _tracer(processor):
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider.get_tracer("tests")


def _span(tracer, attributes, name="chat gpt-4o"):
    with tracer.start_as_current_span(name) as span:
        span.set_attributes(attributes)
    return span


def _counts(record):
    return tuple(getattr(record, k) for k in KINDS)


def test_genai_span_is_recorded_kind_by_kind(svc):
    processor = BudgetSpanProcessor(svc, component="tests")
    span = _span(_tracer(processor), CHAT)
    [record] = svc.list_usage()
    assert _counts(record) == (1200, 300, 1000, 0, 100)
    assert (record.attributes.provider, record.attributes.model) == (
        "openai",
        "gpt-4o-2024-08-06",
    )
    assert record.attributes.component == "tests"
    assert record.request_id == "chatcmpl-otel-1" and record.allocation_id is None
    ended = datetime.fromtimestamp(span.end_time / 1e9, tz=UTC)
    assert abs((record.occurred_at - ended).total_seconds()) < 0.001
    estimate = svc.estimate_cost(
        provider="openai",
        model="gpt-4o-2024-08-06",
        **dict(zip(KINDS, _counts(record), strict=True)),
    )
    assert estimate.priced and record.cost == estimate.cost
    assert processor.recorded == 1 and processor.failures == 0


def test_older_attributes_and_cache_reported_apart(svc):
    processor = BudgetSpanProcessor(svc)
    tracer = _tracer(processor)
    _span(
        tracer,
        {
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 200,  # Anthropic's: without the cache tokens
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "gen_ai.usage.cache_creation.input_tokens": 50,
        },
    )
    [record] = svc.list_usage()
    assert _counts(record) == (1250, 300, 1000, 50, 0)
    assert (record.attributes.provider, record.attributes.model) == (
        "anthropic",
        "claude-sonnet-4-5",
    )
    assert record.request_id.startswith("otel-")  # no response id: the span's ids
    cost = svc.estimate_cost(
        provider="anthropic",
        model="claude-sonnet-4-5",
        **dict(zip(KINDS, _counts(record), strict=True)),
    )
    assert record.cost == cost.cost


def test_a_repeated_response_id_counts_once(svc):
    processor = BudgetSpanProcessor(svc)
    tracer = _tracer(processor)
    _span(tracer, CHAT)
    _span(tracer, CHAT)
    assert len(svc.list_usage()) == 1
    assert processor.recorded == 1


def test_spans_without_usage_are_ignored(svc):
    processor = BudgetSpanProcessor(svc)
    _span(_tracer(processor), {"gen_ai.request.model": "gpt-4o", "http.method": "POST"})
    assert list(svc.list_usage()) == [] and processor.failures == 0


def test_failures_never_reach_the_instrumented_program(svc):
    class Down:
        def record_usage(self, **usage):
            raise ConnectionError("database down")

    processor = BudgetSpanProcessor(Down())
    tracer = _tracer(processor)
    _span(tracer, CHAT)  # no exception
    _span(tracer, {"gen_ai.usage.input_tokens": 5})  # usage without a model
    _span(tracer, {**CHAT, "gen_ai.usage.input_tokens": "lots"})  # a bad value
    assert processor.failures == 3 and processor.recorded == 0


def test_record_only_usage_counts_against_windows(svc):
    team = svc.create_budget(name="team", owner="tests")
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=1_000_000)
    _span(_tracer(BudgetSpanProcessor(svc)), CHAT)
    [window] = svc.summary(team.budget_id).windows
    assert window.tokens_used == 1500 and window.tokens_reserved == 0
