"""Fetching price documents over HTTP: timeouts, retries with backoff, and
conditional requests.

Every request has a timeout. Connection errors, timeouts, ``429`` and ``5xx``
answers are retried with exponential backoff (a ``Retry-After`` header is
honoured up to a cap); other ``4xx`` answers fail at once. When a server gave
an ``ETag`` or ``Last-Modified`` header, the next request for the same URL is
conditional, and a ``304 Not Modified`` answer returns the body kept from
before. Tests hand in an ``httpx.MockTransport``; nothing here needs a network
to be constructed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from budget.ingest.errors import SourceError

USER_AGENT = "budget-price-refresh/0.1 (+https://pypi.org/project/budget/)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A fetched body and what the server said about its version."""

    url: str
    body: bytes
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @property
    def version(self) -> str | None:
        """The server's version marker of the document, if it gave one."""
        return self.etag or self.last_modified


class HttpFetcher:
    """GET with timeout, retries and conditional requests; safe to share."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.transport = transport
        self._sleep = sleep
        self._cache: dict[str, Document] = {}
        self._lock = threading.Lock()

    def get(self, url: str, *, timeout: float | None = None) -> Document:
        """The document at ``url``; raises :class:`SourceError` when it cannot be had."""
        cached = self._cached(url)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/html;q=0.9"}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        response = self._request(url, headers, timeout or self.timeout)
        if response.status_code == 304 and cached is not None:
            return Document(url, cached.body, True, cached.etag, cached.last_modified)
        if response.status_code != 200:
            raise SourceError(f"GET {url}: HTTP {response.status_code}")
        body = response.content
        if len(body) > MAX_BODY_BYTES:
            raise SourceError(f"GET {url}: body larger than {MAX_BODY_BYTES} bytes")
        document = Document(
            url,
            body,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )
        if document.etag or document.last_modified:
            with self._lock:
                self._cache[url] = document
        return document

    def forget(self, url: str | None = None) -> None:
        """Drop the kept bodies (of one URL, or all), so the next GET is unconditional."""
        with self._lock:
            if url is None:
                self._cache.clear()
            else:
                self._cache.pop(url, None)

    def _cached(self, url: str) -> Document | None:
        with self._lock:
            return self._cache.get(url)

    def _request(self, url: str, headers: dict[str, str], timeout: float) -> httpx.Response:
        """One GET, retried on transient failures; the last failure is raised."""
        limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        last_error = "no attempt made"
        with httpx.Client(
            transport=self.transport, timeout=limits, follow_redirects=True
        ) as client:
            for attempt in range(self.retries + 1):
                try:
                    response = client.get(url, headers=headers)
                except httpx.TimeoutException:
                    last_error = f"GET {url}: timed out after {timeout:g}s"
                    delay = self._delay(attempt)
                except httpx.HTTPError as exc:
                    last_error = f"GET {url}: {type(exc).__name__}: {exc}"
                    delay = self._delay(attempt)
                else:
                    if response.status_code not in RETRY_STATUSES:
                        return response
                    last_error = f"GET {url}: HTTP {response.status_code}"
                    delay = self._delay(attempt, response.headers.get("Retry-After"))
                if attempt < self.retries:
                    self._sleep(delay)
        raise SourceError(f"{last_error} ({self.retries + 1} attempts)")

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Exponential backoff, or the server's ``Retry-After`` seconds (capped)."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass
        return self.backoff * (2**attempt)
