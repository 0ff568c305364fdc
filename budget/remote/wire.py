"""What the sync and async clients share: one request (:class:`Call`), how
arguments become JSON, when a failed request is sent again, and how an
answer becomes a result or an exception.

Retry rules (:class:`RetryPolicy`):

* a request that never left (the connection could not be made, or no pooled
  connection came free in time) is sent again, whatever it is;
* a request that may have reached the server is sent again — after a dropped
  connection, a timeout, or a 502/503/504 answer — only when repeating it is
  safe (``Call.safe``): reads, ``check``, ``estimate_cost``, ``release``
  (idempotent) and usage, whose every item carries a request id (the client
  makes one when the caller gives none, so the server counts it once);
* ``allocate`` and the other writes are never sent twice once they may have
  arrived: the error is raised instead.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import quote

import httpx

from budget.remote.errors import (
    ServerUnavailable,
    error_from_response,
    response_retryable,
    where,
)

API_PREFIX = "/api/v1"
#: Request ids the client makes for usage reported without one.
AUTO_REQUEST_ID = "auto-"


@dataclass(frozen=True)
class Call:
    """One REST request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], Any]
    json: Any = None
    params: dict[str, Any] | None = None
    #: True when sending it twice has the effect of sending it once.
    safe: bool = False

    @property
    def url_path(self) -> str:
        return API_PREFIX + self.path


def seg(value: Any) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")


def new_request_id() -> str:
    """A request id for usage reported without one, so a retry counts once."""
    return AUTO_REQUEST_ID + uuid.uuid4().hex


def encode(value: Any) -> Any:
    """A library argument as JSON: Decimal as exact text, date-times as ISO-8601,
    enums as their value, sets and tuples as lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(encode(v) for v in value)
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the unset ones, encoded."""
    return {k: encode(v) for k, v in params.items() if v is not None}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is sent again.

    ``attempts`` counts the first one; the pause doubles from ``backoff``
    seconds up to ``max_backoff``, with jitter, and follows a server's
    ``Retry-After`` when that is shorter than ``max_backoff``.
    """

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 2.0

    def after_error(self, call: Call, attempt: int, exc: httpx.HTTPError) -> float | None:
        """Seconds to wait before sending ``call`` again, or None to give up."""
        if attempt >= self.attempts or not isinstance(exc, httpx.TransportError):
            return None
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if not (unsent or call.safe):
            return None
        return self._pause(attempt, None)

    def after_response(self, call: Call, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before sending ``call`` again after this answer, or None."""
        if attempt >= self.attempts or not call.safe:
            return None
        if not response_retryable(response.status_code):
            return None
        return self._pause(attempt, response.headers.get("retry-after"))

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None and retry_after.isdigit():
            asked = float(retry_after)
            if asked <= self.max_backoff:
                return asked
        pause = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return pause * (0.5 + random.random() / 2)


def result(call: Call, response: httpx.Response) -> Any:
    """The parsed result of an answer, or the exception it stands for."""
    if response.status_code >= 400:
        raise error_from_response(response)
    if response.status_code == 204 or not response.content:
        return call.parse(None)
    try:
        body = response.json()
    except ValueError:
        raise ServerUnavailable(
            f"{where(call.method, response.request.url)}: the answer is not JSON "
            "(is this a Budget server?)",
            status=response.status_code,
            retryable=False,
        ) from None
    return call.parse(body)


def headers(key: str | None) -> dict[str, str]:
    """The headers of every request: the API key, if any."""
    from budget.distribution import __version__

    out = {"User-Agent": f"budget-client/{__version__}", "Accept": "application/json"}
    if key:
        out["Authorization"] = f"Bearer {key}"
    return out


def http_options(
    url: str, key: str | None, timeout: float, max_connections: int, transport: Any
) -> dict[str, Any]:
    """The keyword arguments of the pooled httpx client (sync or async) for a server."""
    return {
        "base_url": url,
        "headers": headers(key),
        "timeout": httpx.Timeout(timeout),
        "limits": httpx.Limits(max_connections=max_connections),
        "transport": transport,
    }


def base_url(url: str) -> str:
    """The server's address, checked: ``http(s)://host[:port]`` (a trailing
    ``/api/v1`` is accepted and dropped)."""
    from budget.errors import ValidationError

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        from budget.domain import redact

        raise ValidationError(
            "url",
            redact.url(str(url)),
            "must be the server's http(s) URL, such as http://127.0.0.1:8013",
        )
    text = str(url).rstrip("/")
    return text[: -len(API_PREFIX)] if text.endswith(API_PREFIX) else text
