"""Budget as an OpenTelemetry span processor: usage from GenAI spans.

Install with ``pip install 'budget-gate[otel]'``.

For programs whose model calls are already instrumented with the GenAI
semantic conventions, :class:`BudgetSpanProcessor` records each finished span
that carries ``gen_ai.usage.input_tokens`` / ``gen_ai.usage.output_tokens``.
It is **record-only**: a span ends after its call, so it cannot reserve
before a call or refuse one; hard limits bind the calls that allocate (the
library, ``wrap()``, the LiteLLM and LangChain callbacks), and the usage
recorded here counts against every window it falls in. It never raises into
the instrumented program: a failure is logged and counted
(:attr:`BudgetSpanProcessor.failures`).

Attributes read: ``gen_ai.usage.input_tokens`` (all input, cached included,
as the conventions define it), ``gen_ai.usage.output_tokens``,
``gen_ai.usage.cache_read.input_tokens``,
``gen_ai.usage.cache_creation.input_tokens``, reasoning
(``gen_ai.usage.reasoning.output_tokens`` or ``gen_ai.usage.reasoning_tokens``,
part of output), the model (``gen_ai.response.model``, else
``gen_ai.request.model``), the provider (``gen_ai.provider.name``, else the
older ``gen_ai.system``) and ``gen_ai.response.id``. An instrumentation that
reports cache tokens apart from input (their sum exceeds the input) is read
Anthropic's way: they are added to the input, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from budget.domain.prices import TokenUsage
from budget.integrations.metering import Meter, log, model_names
from budget.pricing.conventions import from_anthropic

INPUT = "gen_ai.usage.input_tokens"
OUTPUT = "gen_ai.usage.output_tokens"
CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
CACHE_WRITE = "gen_ai.usage.cache_creation.input_tokens"
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
MODEL = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER = ("gen_ai.provider.name", "gen_ai.system")
RESPONSE_ID = "gen_ai.response.id"

#: The conventions' provider names that are not Budget's provider ids.
PROVIDER_NAMES = {
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "vertex_ai",  # Vertex AI bills apart from the Gemini API
    "gcp.gen_ai": "google",
    "x_ai": "x-ai",
    "mistral_ai": "mistral",
    "ibm.watsonx.ai": "ibm",
}


class BudgetSpanProcessor(SpanProcessor):
    """Record the usage of every finished GenAI span (record-only).

    ``service`` is ``budget.open()``'s (or anything with ``record_usage``);
    the keywords are scope attributes every record carries (component,
    project, user, api_key, tier, task_type, tags, session_id, task_id).
    ``provider`` names the provider of spans that do not say.
    """

    def __init__(self, service: Any, *, provider: str | None = None, **scope: Any) -> None:
        self.meter = Meter.of(service, **scope)
        self.provider = provider
        #: Spans recorded (a repeated response id included: it counts once).
        self.recorded = 0

    @property
    def failures(self) -> int:
        """Spans whose usage could not be read or recorded (each one logged)."""
        return self.meter.failures

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        """Record the span's usage, if it carries any; never raises."""
        try:
            self._record(span)
        except Exception:
            self.meter.failures += 1
            log.exception("budget: could not record the usage of span %s", _name(span))

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def _record(self, span: ReadableSpan) -> None:
        attrs = span.attributes or {}
        usage = span_usage(attrs)
        if usage is None:
            return
        provider, model = self._names(attrs)
        if not (provider and model):
            self.meter.failures += 1
            log.warning("budget: span %s has usage but no provider or model", _name(span))
            return
        record = self.meter.settle(
            None,
            provider=provider,
            model=model,
            usage=usage,
            request_id=_request_id(span, attrs),
            occurred_at=_instant(span.end_time),
            latency_ms=_latency_ms(span),
        )
        if record is not None:
            self.recorded += 1

    def _names(self, attrs: Mapping[str, Any]) -> tuple[str | None, str | None]:
        raw = _first(attrs, PROVIDER) or self.provider
        provider = PROVIDER_NAMES.get(str(raw).lower(), raw) if raw else None
        return model_names(provider, _first(attrs, MODEL))


def span_usage(attrs: Mapping[str, Any]) -> TokenUsage | None:
    """Budget's token counts from a span's GenAI attributes (None: no usage)."""
    if INPUT not in attrs and OUTPUT not in attrs:
        return None
    inputs = _count(attrs.get(INPUT))
    cached = _count(attrs.get(CACHE_READ))
    written = _count(attrs.get(CACHE_WRITE))
    output = _count(attrs.get(OUTPUT))
    reasoning = _count(_first(attrs, REASONING))
    if cached + written > inputs:  # cache tokens reported apart from input
        apart = from_anthropic(inputs, output, cached, written)
        return TokenUsage(apart.input_tokens, output, cached, written, min(reasoning, output))
    return TokenUsage(inputs, output, cached, written, min(reasoning, output))


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return 0
    return int(value)


def _first(attrs: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value not in (None, ""):
            return value
    return None


def _request_id(span: ReadableSpan, attrs: Mapping[str, Any]) -> str:
    response_id = attrs.get(RESPONSE_ID)
    if isinstance(response_id, str) and response_id:
        return response_id
    ctx = span.get_span_context()
    return f"otel-{ctx.trace_id:032x}-{ctx.span_id:016x}"


def _instant(nanos: int | None) -> datetime | None:
    return None if nanos is None else datetime.fromtimestamp(nanos / 1e9, tz=UTC)


def _latency_ms(span: ReadableSpan) -> int | None:
    if span.start_time is None or span.end_time is None:
        return None
    return max(0, (span.end_time - span.start_time) // 1_000_000)


def _name(span: ReadableSpan) -> str:
    return getattr(span, "name", "?")
