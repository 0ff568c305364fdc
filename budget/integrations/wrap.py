"""``budget.wrap(client)``: Budget in front of every call an OpenAI or Anthropic
client makes, with the client's own interface.

    client = budget.wrap(OpenAI(), svc, project="alpha", user="alice")
    client.chat.completions.create(model="gpt-4o", messages=[...], max_tokens=500)

Before the request it allocates the call's input (an upper bound worked out
from the request, :mod:`budget.integrations.estimate`) plus its output cap,
and raises :class:`budget.BudgetExceeded` before any network call when a hard
limit refuses. After the answer it records the provider's usage, converted
once to Budget's convention, with the answer's id as request id, and
releases the rest in the same transaction. A failed call, or a stream
closed early, releases and records what the provider had reported.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from budget.integrations import estimate as est
from budget.integrations.gate import Gate, Ticket
from budget.integrations.shapes import ANTHROPIC, OPENAI, Endpoint, answer_id, answer_usage
from budget.integrations.streams import AsyncMeteredStream, MeteredManager, MeteredStream

log = logging.getLogger("budget.wrap")

SOFT_LIMIT_MODES = ("suggest", "switch")
_REWRAPPED = ("with_options", "copy", "with_raw_response")


def wrap(
    client: Any,
    svc: Any = None,
    *,
    on_soft_limit: str = "suggest",
    estimate: est.Estimator = est.upper_bound,
    default_max_output: int = est.DEFAULT_MAX_OUTPUT,
    context_id: str | None = None,
    **scope: Any,
) -> Any:
    """The client, metered by Budget. ``svc`` is a service (``budget.open()``,
    ``budget.connect(...)`` or their async forms; default: ``budget.open()``);
    ``scope`` are the request attributes every call carries (project, user,
    component, api_key, task_type, tags, priority…).

    ``on_soft_limit``: ``"suggest"`` (default) only notes the cheaper model
    Budget recommends over a soft limit (in the log); ``"switch"`` sends the
    call to that model instead. ``estimate`` turns the request's keyword
    arguments into input tokens (default: an upper bound); a call that sets
    no output cap reserves ``default_max_output``.
    """
    from budget.errors import ValidationError

    if on_soft_limit not in SOFT_LIMIT_MODES:
        raise ValidationError("on_soft_limit", on_soft_limit, "must be 'suggest' or 'switch'")
    if svc is None:
        from budget.bootstrap import open as open_budget

        svc = open_budget()
    provider, endpoints = _kind_of(client)
    gate = Gate(svc, provider, scope, context_id)
    is_async = type(client).__name__.startswith("Async")
    settings = _Settings(on_soft_limit, estimate, default_max_output, is_async)
    return _Proxy(client, (), {e.path: e for e in endpoints}, gate, settings)


def _kind_of(client: Any) -> tuple[str, tuple[Endpoint, ...]]:
    module = type(client).__module__.split(".")[0]
    name = type(client).__name__
    if module == "openai":
        return ("azure" if "Azure" in name else "openai"), OPENAI
    if module == "anthropic":
        if "Bedrock" in name or "Vertex" in name:
            return ("bedrock" if "Bedrock" in name else "vertex_ai"), ANTHROPIC
        return "anthropic", ANTHROPIC
    from budget.errors import ValidationError

    raise ValidationError(
        "client", name, "wrap() meters OpenAI and Anthropic clients (sync or async)"
    )


class _Settings:
    def __init__(self, on_soft_limit, estimate: est.Estimator, default_max_output, is_async):
        self.on_soft_limit = on_soft_limit
        self.estimate = estimate
        self.default_max_output = default_max_output
        #: The SDK's async client (its methods return coroutines).
        self.is_async = is_async


class _Proxy:
    """Stands in for the client or one of its resources: metered methods are
    replaced, everything else is the client's own."""

    def __init__(self, target: Any, path: tuple[str, ...], endpoints, gate: Gate, settings):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_endpoints", endpoints)
        object.__setattr__(self, "_gate", gate)
        object.__setattr__(self, "_settings", settings)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        path = (*self._path, name)
        endpoint = self._endpoints.get(path)
        if endpoint is not None:
            return _metered(value, endpoint, self._gate, self._settings)
        if name in _REWRAPPED and callable(value):
            return _rewrapping(value, self, path)
        if any(p[: len(path)] == path for p in self._endpoints):
            return _Proxy(value, path, self._endpoints, self._gate, self._settings)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return f"budget.wrap({self._target!r})"


def _rewrapping(method: Callable, proxy: _Proxy, path: tuple[str, ...]) -> Callable:
    """``with_options()`` and friends return a new client: meter it too."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        inner = method(*args, **kwargs)
        return _Proxy(inner, proxy._path, proxy._endpoints, proxy._gate, proxy._settings)

    return call


def _metered(create: Callable, endpoint: Endpoint, gate: Gate, settings: _Settings) -> Callable:
    if endpoint.snapshot is not None:

        @functools.wraps(create)
        def manage(*args: Any, **kwargs: Any) -> Any:
            plan = _plan(endpoint, kwargs, settings)
            return MeteredManager(create, args, kwargs, endpoint, gate, plan, _prepare)

        return manage
    if settings.is_async:

        @functools.wraps(create)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            ticket = await gate.aopen(_plan(endpoint, kwargs, settings))
            return await _finish_async(create, args, kwargs, endpoint, gate, ticket)

        return call_async

    @functools.wraps(create)
    def call(*args: Any, **kwargs: Any) -> Any:
        ticket = gate.open(_plan(endpoint, kwargs, settings))
        return _finish(create, args, kwargs, endpoint, gate, ticket)

    return call


def _plan(endpoint: Endpoint, kwargs: dict[str, Any], settings: _Settings) -> dict[str, Any]:
    """What to reserve for a call: its model, input bound and output cap."""
    model = kwargs.get("model")
    outputs = est.max_output(kwargs, settings.default_max_output) if endpoint.outputs else 0
    return {
        "model": model,
        "input_tokens": max(int(settings.estimate(kwargs)), 1),
        "max_output_tokens": outputs,
        "switch": settings.on_soft_limit == "switch",
    }


def _prepare(kwargs: dict[str, Any], endpoint: Endpoint, ticket: Ticket) -> bool:
    """Apply a model switch, and ask a chat stream for its usage; True when the
    caller asked for the usage chunk themselves (it is then passed on)."""
    if ticket.model is not None and kwargs.get("model") != ticket.model:
        kwargs["model"] = ticket.model
    if endpoint.snapshot is not None and endpoint.wants_usage_option:
        return _ask_for_usage(kwargs)
    if not (kwargs.get("stream") and endpoint.wants_usage_option):
        return True
    return _ask_for_usage(kwargs)


def _ask_for_usage(kwargs: dict[str, Any]) -> bool:
    options = dict(kwargs.get("stream_options") or {})
    asked = bool(options.get("include_usage"))
    options["include_usage"] = True
    kwargs["stream_options"] = options
    return asked


def _finish(create, args, kwargs, endpoint: Endpoint, gate: Gate, ticket: Ticket) -> Any:
    show_usage = _prepare(kwargs, endpoint, ticket)
    started = time.perf_counter()
    try:
        answer = create(*args, **kwargs)
    except BaseException as error:
        gate.fail(ticket, error)
        raise
    if kwargs.get("stream") and endpoint.watcher is not None:
        return MeteredStream(answer, endpoint.watcher(), gate, ticket, show_usage, started)
    gate.done(ticket, answer_usage(endpoint, answer), answer_id(answer), started)
    return answer


async def _finish_async(create, args, kwargs, endpoint, gate: Gate, ticket: Ticket) -> Any:
    show_usage = _prepare(kwargs, endpoint, ticket)
    started = time.perf_counter()
    try:
        answer = await create(*args, **kwargs)
    except BaseException as error:
        await gate.afail(ticket, error)
        raise
    if kwargs.get("stream") and endpoint.watcher is not None:
        return AsyncMeteredStream(answer, endpoint.watcher(), gate, ticket, show_usage, started)
    await gate.adone(ticket, answer_usage(endpoint, answer), answer_id(answer), started)
    return answer
