"""The SDK calls ``wrap()`` meters, and how to read usage out of each one's answer.

Every reader returns Budget's token convention (``input_tokens`` all input,
cache reads and writes inside it; reasoning inside output), converted once
with :mod:`budget.pricing.conventions`, or None when the answer carried no
usage. Stream watchers see every chunk or event as it passes and keep the
last usage reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from budget.pricing.conventions import from_anthropic, from_openai


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _counts(usage) -> dict[str, int]:
    counts = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }
    if usage.cache_write_1h_tokens:
        counts["cache_write_1h_tokens"] = usage.cache_write_1h_tokens
    return counts


def chat_usage(usage: Any) -> dict[str, int] | None:
    """OpenAI chat completions (and embeddings: no completion tokens)."""
    if usage is None:
        return None
    return _counts(
        from_openai(
            _get(usage, "prompt_tokens"),
            _get(usage, "completion_tokens"),
            _get(usage, "prompt_tokens_details", "cached_tokens"),
            _get(usage, "completion_tokens_details", "reasoning_tokens"),
        )
    )


def responses_usage(usage: Any) -> dict[str, int] | None:
    """OpenAI Responses API."""
    if usage is None:
        return None
    return _counts(
        from_openai(
            _get(usage, "input_tokens"),
            _get(usage, "output_tokens"),
            _get(usage, "input_tokens_details", "cached_tokens"),
            _get(usage, "output_tokens_details", "reasoning_tokens"),
        )
    )


def anthropic_usage(usage: Any) -> dict[str, int] | None:
    """Anthropic messages: cache reads and writes are reported apart from input."""
    if usage is None:
        return None
    return _counts(
        from_anthropic(
            _get(usage, "input_tokens"),
            _get(usage, "output_tokens"),
            _get(usage, "cache_read_input_tokens"),
            _get(usage, "cache_creation_input_tokens"),
            _get(usage, "cache_creation"),
        )
    )


class ChatWatcher:
    """Chat completion chunks: the id on every chunk, usage on the last one
    (asked for with ``stream_options.include_usage``)."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.usage: dict[str, int] | None = None

    def see(self, chunk: Any) -> bool:
        """Note a chunk; False for the usage-only chunk the caller did not ask for."""
        self.id = self.id or _get(chunk, "id")
        usage = _get(chunk, "usage")
        if usage is not None:
            self.usage = chat_usage(usage)
            return bool(_get(chunk, "choices"))
        return True


class ResponsesWatcher:
    """Responses API events: the final response carries id and usage."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.usage: dict[str, int] | None = None

    def see(self, event: Any) -> bool:
        response = _get(event, "response")
        if response is not None:
            self.id = _get(response, "id") or self.id
            usage = _get(response, "usage")
            if usage is not None:
                self.usage = responses_usage(usage)
        return True


class AnthropicWatcher:
    """Anthropic stream events: ``message_start`` has the input side,
    ``message_delta`` the running output count."""

    def __init__(self) -> None:
        self.id: str | None = None
        self._start: Any = None
        self._output: int | None = None
        self.usage: dict[str, int] | None = None

    def see(self, event: Any) -> bool:
        kind = _get(event, "type")
        if kind == "message_start":
            message = _get(event, "message")
            self.id = _get(message, "id")
            self._start = _get(message, "usage")
        elif kind == "message_delta":
            self._output = _get(event, "usage", "output_tokens")
        if self._start is not None:
            output = self._output if self._output is not None else 0
            self.usage = anthropic_usage(_Merged(self._start, output))
        return True


@dataclass
class _Merged:
    start: Any
    output_tokens: int

    @property
    def input_tokens(self) -> int | None:
        return _get(self.start, "input_tokens")

    @property
    def cache_read_input_tokens(self) -> int | None:
        return _get(self.start, "cache_read_input_tokens")

    @property
    def cache_creation_input_tokens(self) -> int | None:
        return _get(self.start, "cache_creation_input_tokens")

    @property
    def cache_creation(self) -> Any:
        return _get(self.start, "cache_creation")


@dataclass(frozen=True)
class Endpoint:
    """One metered SDK method: where it is, how to read its answer and stream."""

    path: tuple[str, ...]
    read: Any  # the usage reader of a whole answer
    watcher: Any = None  # the stream watcher class (None: no stream)
    outputs: bool = True  # False: no output tokens (embeddings)
    #: Ask a chat stream for its usage chunk when the caller did not.
    wants_usage_option: bool = False
    #: A streaming helper (``.stream(...)``) whose manager is entered with
    #: ``with``; usage is read from its stream's snapshot at the end.
    snapshot: Any = None


def chat_snapshot(stream: Any) -> tuple[str | None, dict[str, int] | None]:
    snapshot = getattr(stream, "current_completion_snapshot", None)
    return _get(snapshot, "id"), chat_usage(_get(snapshot, "usage"))


def responses_snapshot(stream: Any) -> tuple[str | None, dict[str, int] | None]:
    done = getattr(getattr(stream, "_state", None), "_completed_response", None)
    return _get(done, "id"), responses_usage(_get(done, "usage"))


def anthropic_snapshot(stream: Any) -> tuple[str | None, dict[str, int] | None]:
    try:
        snapshot = stream.current_message_snapshot
    except Exception:  # nothing received yet
        return None, None
    return _get(snapshot, "id"), anthropic_usage(_get(snapshot, "usage"))


OPENAI = (
    Endpoint(("chat", "completions", "create"), chat_usage, ChatWatcher, wants_usage_option=True),
    Endpoint(("chat", "completions", "parse"), chat_usage),
    Endpoint(
        ("chat", "completions", "stream"),
        chat_usage,
        wants_usage_option=True,
        snapshot=chat_snapshot,
    ),
    Endpoint(("responses", "create"), responses_usage, ResponsesWatcher),
    Endpoint(("responses", "parse"), responses_usage),
    Endpoint(("responses", "stream"), responses_usage, snapshot=responses_snapshot),
    Endpoint(("embeddings", "create"), chat_usage, outputs=False),
)
ANTHROPIC = (
    Endpoint(("messages", "create"), anthropic_usage, AnthropicWatcher),
    Endpoint(("messages", "stream"), anthropic_usage, snapshot=anthropic_snapshot),
)


def answer_id(answer: Any) -> str | None:
    return _get(answer, "id")


def answer_usage(endpoint: Endpoint, answer: Any) -> dict[str, int] | None:
    return endpoint.read(_get(answer, "usage"))
