"""Budget as a LiteLLM callback: for the LiteLLM proxy and for the SDK.

Install with ``pip install 'budget-gate[litellm]'``.

Proxy (``litellm --config config.yaml`` with ``callbacks: budget_hooks.handler``):
:meth:`BudgetCallback.async_pre_call_hook` reserves before the proxy routes a
request and refuses one over a hard limit with HTTP 429 naming the policy; the
allocation id travels in the request's metadata, and the success and failure
hooks record what the provider reported and release the rest.

SDK (``litellm.callbacks = [handler]``): LiteLLM swallows exceptions raised in
its logging hooks, so a callback cannot stop a call. Calls made through
:meth:`BudgetCallback.completion` / :meth:`BudgetCallback.acompletion` (or any
LiteLLM function with :meth:`BudgetCallback.admit`'s keywords) are reserved
first and refused with :class:`budget.BudgetExceeded` before anything is sent;
plain ``litellm.completion`` calls are recorded after the fact (record-only).

Usage is read from LiteLLM's OpenAI-shaped ``usage``: ``prompt_tokens``
already includes cache reads (``prompt_tokens_details.cached_tokens``) and,
for Anthropic, cache writes (``cache_creation_tokens``), which LiteLLM adds
in; ``completion_tokens`` includes reasoning. That is Budget's convention, so
nothing is added again. The response id is the ledger's request id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

from budget.domain.prices import TokenUsage
from budget.errors import BudgetExceeded
from budget.integrations.estimate import DEFAULT_MAX_OUTPUT, max_output, upper_bound
from budget.integrations.metering import Meter, log, model_names
from budget.pricing.conventions import from_openai

#: Where the allocation id travels in a request's metadata.
ALLOCATION_KEY = "budget_allocation_id"
_METADATA_FIELDS = ("metadata", "litellm_metadata")


class BudgetCallback(CustomLogger):
    """Reserve before LiteLLM calls a model; record and release after.

    ``service`` is ``budget.open()``'s (or anything with ``allocate``,
    ``release`` and ``record_usage``). Keywords: scope attributes every call
    carries (component, project, user, api_key, tier, task_type, tags,
    session_id, task_id, priority, ttl_seconds); ``models`` maps proxy model
    names to ``provider/model`` for the reservation; ``scope_from_key``
    (proxy) takes user, api_key and project from the caller's LiteLLM key
    (user_id, key_alias, team_id) where the scope does not fix them;
    ``default_max_output`` is reserved when a request sets no output cap.
    """

    def __init__(
        self,
        service: Any,
        *,
        models: Mapping[str, str] | None = None,
        scope_from_key: bool = True,
        default_max_output: int = DEFAULT_MAX_OUTPUT,
        **scope: Any,
    ) -> None:
        super().__init__()
        self.meter = Meter.of(service, **scope)
        self.models = dict(models or {})
        self.scope_from_key = scope_from_key
        self.default_max_output = default_max_output

    # --- SDK ---------------------------------------------------------------

    def admit(self, request: Mapping[str, Any], **attributes: Any) -> dict[str, Any]:
        """Reserve for one request; its keywords with the allocation id in
        ``metadata``. Raises :class:`budget.BudgetExceeded` when refused."""
        allocation_id = self._reserve(request, attributes)
        return _with_allocation(dict(request), "metadata", allocation_id)

    def completion(self, **request: Any) -> Any:
        """``litellm.completion``, reserved first (refused: BudgetExceeded, nothing sent)."""
        admitted = self.admit(request)
        try:
            return litellm.completion(**admitted)
        except BaseException:
            self.meter.settle(_allocation_in(admitted), provider=None, model=None, usage=None)
            raise

    async def acompletion(self, **request: Any) -> Any:
        """``litellm.acompletion``, reserved first (refused: BudgetExceeded, nothing sent)."""
        admitted = await asyncio.to_thread(self.admit, request)
        try:
            return await litellm.acompletion(**admitted)
        except BaseException:
            allocation_id = _allocation_in(admitted)
            await asyncio.to_thread(
                self.meter.settle, allocation_id, provider=None, model=None, usage=None
            )
            raise

    # --- proxy ---------------------------------------------------------------

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any
    ) -> dict:
        """Reserve before the proxy routes ``data``; over a hard limit raise
        HTTP 429 whose detail names the policy (with ``Retry-After``)."""
        if not data.get("model"):
            return data
        try:
            allocation_id = await asyncio.to_thread(
                self._reserve, data, self._key_scope(user_api_key_dict)
            )
        except BudgetExceeded as denied:
            raise _too_many_requests(denied) from denied
        return _with_allocation(
            data, self._select_metadata_field(data) or "metadata", allocation_id
        )

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> None:
        """A request the proxy failed (anywhere after the pre-call hook) releases."""
        allocation_id = _allocation_in(request_data)
        if allocation_id is not None:
            await asyncio.to_thread(self.meter.release, allocation_id)

    # --- after the call (SDK and proxy) ----------------------------------------

    def log_success_event(self, kwargs, response_obj, start_time, end_time) -> None:
        """Record what the provider reported and release the rest."""
        self._settle(kwargs, response_obj, start_time, end_time)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time) -> None:
        await asyncio.to_thread(self._settle, kwargs, response_obj, start_time, end_time)

    def log_failure_event(self, kwargs, response_obj, start_time, end_time) -> None:
        """Release; record what the provider reported, if it reported usage."""
        self._settle(kwargs, response_obj, start_time, end_time)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time) -> None:
        await asyncio.to_thread(self._settle, kwargs, response_obj, start_time, end_time)

    # --- internals -----------------------------------------------------------------

    def _reserve(self, request: Mapping[str, Any], attributes: Mapping[str, Any]) -> str:
        provider, model = self._resolve(request)
        shaped = dict(request)
        if "prompt" in shaped and "input" not in shaped:  # text completions
            shaped["input"] = shaped["prompt"]
        return self.meter.reserve(
            provider=provider,
            model=model,
            input_tokens=upper_bound(shaped),
            max_output_tokens=max_output(shaped, self.default_max_output),
            context_id=_text(request.get("litellm_call_id")),
            **attributes,
        )

    def _resolve(self, request: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """Budget's provider and model for a request's ``model`` (and
        ``custom_llm_provider``), through ``models`` and LiteLLM's own rules."""
        name = str(request.get("model"))
        name = self.models.get(name, name)
        try:
            model, provider, _, _ = litellm.get_llm_provider(
                model=name, custom_llm_provider=request.get("custom_llm_provider")
            )
        except Exception:
            return model_names(None, name)
        return model_names(provider, model)

    def _key_scope(self, key: Any) -> dict[str, Any]:
        if not self.scope_from_key or key is None:
            return {}
        found = {
            "user": getattr(key, "user_id", None),
            "api_key": getattr(key, "key_alias", None),
            "project": getattr(key, "team_id", None),
        }
        return {k: v for k, v in found.items() if v and k not in self.meter.scope}

    def _settle(self, kwargs: dict, response: Any, start_time: Any, end_time: Any) -> None:
        try:
            allocation_id = _allocation_in(kwargs.get("litellm_params") or kwargs)
            usage = None if kwargs.get("cache_hit") else litellm_usage(_get(response, "usage"))
            provider, model = model_names(kwargs.get("custom_llm_provider"), kwargs.get("model"))
            request_id = _text(_get(response, "id"))
        except Exception:
            self.meter.failures += 1
            log.exception("budget: could not read LiteLLM's call details")
            return
        if allocation_id is None and (usage is None or not model):
            return
        self.meter.settle(
            allocation_id,
            provider=provider,
            model=model,
            usage=usage,
            request_id=request_id,
            occurred_at=_utc(end_time),
            latency_ms=_latency_ms(start_time, end_time),
        )


def litellm_usage(usage: Any) -> TokenUsage | None:
    """LiteLLM's ``usage`` (chat, embeddings or Responses shape) in Budget's
    convention, or None when there is none.

    LiteLLM reports every provider OpenAI's way: ``prompt_tokens`` includes
    cache reads and, for Anthropic, the cache writes it adds in (also kept as
    ``prompt_tokens_details.cache_creation_tokens`` / ``cache_write_tokens``
    and ``cache_creation_input_tokens``), so cache writes are only noted,
    never added to the input again.
    """
    if usage is None:
        return None
    if _get(usage, "prompt_tokens") is None and _get(usage, "input_tokens") is not None:
        counts = from_openai(
            _get(usage, "input_tokens"),
            _get(usage, "output_tokens"),
            _get(usage, "input_tokens_details", "cached_tokens"),
            _get(usage, "output_tokens_details", "reasoning_tokens"),
        )
    else:
        counts = from_openai(
            _get(usage, "prompt_tokens"),
            _get(usage, "completion_tokens"),
            _get(usage, "prompt_tokens_details", "cached_tokens"),
            _get(usage, "completion_tokens_details", "reasoning_tokens"),
        )
    return replace(counts, cache_write_tokens=_cache_writes(usage))


def _cache_writes(usage: Any) -> int:
    details = _get(usage, "prompt_tokens_details")
    for value in (
        _get(details, "cache_creation_tokens"),
        _get(details, "cache_write_tokens"),
        _get(usage, "cache_creation_input_tokens"),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _too_many_requests(denied: BudgetExceeded) -> Exception:
    from fastapi import HTTPException

    headers = {}
    if denied.retry_after_seconds is not None:
        headers["retry-after"] = str(denied.retry_after_seconds)
    detail = {"error": denied.message, **denied.to_dict()}
    return HTTPException(status_code=429, detail=detail, headers=headers or None)


def _with_allocation(request: dict, field: str, allocation_id: str) -> dict:
    request[field] = {**(request.get(field) or {}), ALLOCATION_KEY: allocation_id}
    return request


def _allocation_in(container: Mapping[str, Any]) -> str | None:
    for field in _METADATA_FIELDS:
        metadata = container.get(field)
        if isinstance(metadata, Mapping) and metadata.get(ALLOCATION_KEY):
            return str(metadata[ALLOCATION_KEY])
    return None


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _utc(moment: Any) -> datetime | None:
    """LiteLLM's times are naive local times; as aware UTC."""
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(UTC)


def _latency_ms(start: Any, end: Any) -> int | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return int((end - start).total_seconds() * 1000)
    return None
