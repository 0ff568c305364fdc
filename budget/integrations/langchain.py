"""Budget as a LangChain callback handler.

Install with ``pip install 'budget-gate[langchain]'``.

:class:`BudgetCallbackHandler` reserves when a chat model or LLM run starts
(``on_chat_model_start`` / ``on_llm_start``) and refuses it with
:class:`budget.BudgetExceeded` over a hard limit (``raise_error`` is set, so
LangChain propagates the refusal and the model is never called); it records
when the run ends (``on_llm_end``) from the message's ``usage_metadata`` and
releases the rest; a failed run (``on_llm_error``) releases. Runs are kept
apart by ``run_id``, so one handler serves concurrent runs.

LangChain's ``usage_metadata`` already follows Budget's convention:
``input_tokens`` includes ``input_token_details.cache_read`` and
``cache_creation``, and ``output_tokens`` includes
``output_token_details.reasoning``. The message id (the provider's response
id where the integration sets it) is the ledger's request id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from budget.domain.prices import TokenUsage
from budget.integrations.estimate import DEFAULT_MAX_OUTPUT, max_output, upper_bound
from budget.integrations.metering import Meter, log, model_names
from budget.pricing.conventions import from_openai


class BudgetCallbackHandler(BaseCallbackHandler):
    """Reserve at the start of every model run, record and release at its end.

    ``service`` is ``budget.open()``'s (or anything with ``allocate``,
    ``release`` and ``record_usage``). ``provider`` and ``model`` name what is
    metered (default: what the model reports as ``ls_provider`` /
    ``ls_model_name`` or its invocation params); the other keywords are scope
    attributes every run carries (component, project, user, api_key, tier,
    task_type, tags, session_id, task_id, priority, ttl_seconds).
    ``default_max_output`` is reserved when a run sets no output cap.
    """

    raise_error = True  # a refusal must stop the run, not be logged

    def __init__(
        self,
        service: Any,
        *,
        provider: str | None = None,
        model: str | None = None,
        default_max_output: int = DEFAULT_MAX_OUTPUT,
        **scope: Any,
    ) -> None:
        self.meter = Meter.of(service, **scope)
        self.provider = provider
        self.model = model
        self.default_max_output = default_max_output
        self._runs: dict[UUID, tuple[str, str | None, str | None]] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Reserve for the messages; raise BudgetExceeded when refused."""
        shaped = [_message(m) for batch in messages for m in batch]
        self._start(run_id, {"messages": shaped}, metadata, kwargs.get("invocation_params"))

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Reserve for the prompts; raise BudgetExceeded when refused."""
        self._start(run_id, {"input": list(prompts)}, metadata, kwargs.get("invocation_params"))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the run's usage and release the rest (never raises)."""
        run = self._pop(run_id)
        if run is None:
            return
        allocation_id, provider, model = run
        try:
            usage = result_usage(response)
            request_id = result_id(response) or f"langchain-run-{run_id}"
        except Exception:
            self.meter.failures += 1
            log.exception("budget: could not read the usage of run %s", run_id)
            usage, request_id = None, None
        self.meter.settle(
            allocation_id, provider=provider, model=model, usage=usage, request_id=request_id
        )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed run releases its reservation."""
        run = self._pop(run_id)
        if run is not None:
            self.meter.settle(run[0], provider=run[1], model=run[2], usage=None)

    # --- internals -----------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        request: dict[str, Any],
        metadata: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
    ) -> None:
        params = params or {}
        provider, model = self._names(metadata or {}, params)
        if params.get("tools"):
            request["tools"] = params["tools"]
        allocation_id = self.meter.reserve(
            provider=provider,
            model=model,
            input_tokens=upper_bound(request),
            max_output_tokens=max_output(params, self.default_max_output),
            context_id=f"langchain-run-{run_id}",
        )
        with self._lock:
            self._runs[run_id] = (allocation_id, provider, model)

    def _names(
        self, metadata: Mapping[str, Any], params: Mapping[str, Any]
    ) -> tuple[str | None, str | None]:
        provider = self.provider or metadata.get("ls_provider")
        model = (
            self.model
            or metadata.get("ls_model_name")
            or params.get("model")
            or params.get("model_name")
        )
        return model_names(provider, model)

    def _pop(self, run_id: UUID) -> tuple[str, str | None, str | None] | None:
        with self._lock:
            return self._runs.pop(run_id, None)


def result_usage(response: LLMResult) -> TokenUsage | None:
    """A run's usage from its messages' ``usage_metadata`` (one per prompt:
    the choices of one prompt share it), else from ``llm_output`` in
    OpenAI's shape; None when neither reports usage."""
    found = [u for u in (_prompt_usage(gens) for gens in response.generations) if u is not None]
    if found:
        return TokenUsage(*(sum(getattr(u, f) for u in found) for f in _KINDS))
    output = response.llm_output or {}
    usage = output.get("token_usage") or output.get("usage")
    if not isinstance(usage, Mapping) or "prompt_tokens" not in usage:
        return None
    details = usage.get("prompt_tokens_details") or {}
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return from_openai(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        details.get("cached_tokens"),
        reasoning,
    )


def result_id(response: LLMResult) -> str | None:
    """The provider's response id of a run: its first message's
    ``response_metadata["id"]``, else ``llm_output["id"]``, else the message
    id (LangChain names a message ``lc_run-…`` when the provider did not)."""
    messages = [
        getattr(generation, "message", None)
        for generations in response.generations
        for generation in generations
    ]
    candidates = [(getattr(m, "response_metadata", None) or {}).get("id") for m in messages]
    candidates.append((response.llm_output or {}).get("id"))
    candidates.extend(getattr(m, "id", None) for m in messages)
    return next((c for c in candidates if isinstance(c, str) and c), None)


_KINDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _prompt_usage(generations: Sequence[Any]) -> TokenUsage | None:
    for generation in generations:
        usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
        if usage:
            return _from_usage_metadata(usage)
    return None


def _from_usage_metadata(usage: Mapping[str, Any]) -> TokenUsage:
    """LangChain's UsageMetadata: input includes cache reads and creation,
    output includes reasoning (Budget's convention already)."""
    inputs = usage.get("input_token_details") or {}
    outputs = usage.get("output_token_details") or {}
    return TokenUsage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=int(inputs.get("cache_read") or 0),
        cache_write_tokens=int(inputs.get("cache_creation") or 0),
        reasoning_tokens=int(outputs.get("reasoning") or 0),
    )


def _message(message: Any) -> dict[str, Any]:
    """A LangChain message as the estimator reads it: its content, tool
    calls and role."""
    shaped: dict[str, Any] = {"role": getattr(message, "type", None)}
    shaped["content"] = getattr(message, "content", message)
    calls = getattr(message, "tool_calls", None)
    if calls:
        shaped["tool_calls"] = [{"name": c.get("name"), "args": c.get("args")} for c in calls]
    return shaped
