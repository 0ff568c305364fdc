"""How many tokens a request may use, worked out before it is sent.

Budget reserves before a call, so it needs the call's input size before the
provider has counted it. Without the provider's tokenizer the safe figure is
an upper bound: every token of a byte-level BPE tokenizer (OpenAI's and
Anthropic's) stands for at least one byte of text, so a request's UTF-8
bytes, plus a few tokens of framing per message, are never fewer than the
tokens the provider will bill. English text is about four bytes a token, so
the bound reserves about four times the real input; it is handed back when
the call is recorded. :func:`approximate` (characters / 4 with a 10 % margin)
reserves closer to the real figure, at the risk of reserving a little less
than the call uses for unusual text.

Images and files are not text: each counts a fixed allowance
(:data:`IMAGE_TOKENS`), enough for one high-detail image at the providers'
published rates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Tokens of framing per message (role markers, separators), generously.
PER_MESSAGE = 8
#: Tokens a request's framing and the reply's priming may add.
PER_REQUEST = 16
#: What one image or file part is reserved at.
IMAGE_TOKENS = 1600
#: Output reserved when a request does not cap it (max_tokens and the like).
DEFAULT_MAX_OUTPUT = 4096

_MEDIA = {"image_url", "input_image", "image", "document", "file", "input_file", "input_audio"}
_SKIPPED_KEYS = {"role", "type", "id", "cache_control", "detail", "name"}

#: A function from a request's keyword arguments to its input tokens.
Estimator = Callable[[Mapping[str, Any]], int]


def upper_bound(request: Mapping[str, Any]) -> int:
    """Input tokens the request cannot exceed: UTF-8 bytes of its text, plus
    framing per message and an allowance per image or file."""
    texts, media, messages = _collect(request)
    return sum(len(t.encode("utf-8")) for t in texts) + _overhead(media, messages)


def approximate(request: Mapping[str, Any]) -> int:
    """A closer, not guaranteed, estimate: characters / 4 plus 10 %."""
    texts, media, messages = _collect(request)
    chars = sum(len(t) for t in texts)
    return chars * 11 // 40 + 1 + _overhead(media, messages)


def _overhead(media: int, messages: int) -> int:
    return PER_REQUEST + PER_MESSAGE * messages + IMAGE_TOKENS * media


def max_output(request: Mapping[str, Any], default: int = DEFAULT_MAX_OUTPUT) -> int:
    """The output cap the request sets (any of the providers' names), else ``default``."""
    for name in ("max_output_tokens", "max_completion_tokens", "max_tokens"):
        value = request.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def _collect(request: Mapping[str, Any]) -> tuple[list[str], int, int]:
    """(texts, media parts, messages) of a request's input, in any of the shapes
    the SDKs take: chat ``messages``, Anthropic ``system``, Responses ``input``
    and ``instructions``, embeddings ``input``, and ``tools``."""
    texts: list[str] = []
    counter = [0]
    messages = 0
    for key in ("messages", "input"):
        value = request.get(key)
        if isinstance(value, list):
            messages += len(value)
        elif value is not None:
            messages += 1
        _walk(value, texts, counter)
    for key in ("system", "instructions"):
        _walk(request.get(key), texts, counter)
    for key in ("tools", "functions", "response_format", "text", "tool_choice"):
        value = request.get(key)
        if value is not None and not isinstance(value, str | int | float | bool):
            texts.append(json.dumps(_plain(value), default=str))
    return texts, counter[0], messages


def _walk(value: Any, texts: list[str], media: list[int]) -> None:
    value = _plain(value)
    if value is None:
        return
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, Mapping):
        if value.get("type") in _MEDIA:
            media[0] += 1
            return
        for key, item in value.items():
            if key not in _SKIPPED_KEYS:
                _walk(item, texts, media)
    elif isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool):
                texts.append("xxxx")  # a token id (embeddings take them): one token
            else:
                _walk(item, texts, media)


def _plain(value: Any) -> Any:
    """SDK objects (pydantic models) as plain data."""
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value
