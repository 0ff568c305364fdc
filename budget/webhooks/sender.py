"""Sending one signed delivery over HTTP, with a timeout and kept-alive connections.

``http.client`` rather than a full HTTP client: a delivery is one POST, and
the dispatcher shares its process with allocate and record, so each send
should cost as little CPU as possible. Connections are kept per worker thread
and per receiver; a kept connection the receiver closed meanwhile is retried
once on a fresh one. Redirects are not followed (a 3xx is a failure).

A new connection goes to an address of the receiver's host checked against
the target policy (:mod:`budget.webhooks.targets`) right then, after DNS
resolution; a refused target is a failed attempt whose error says why.
A ``slack`` webhook gets a Slack message (:mod:`budget.webhooks.slack`)
instead of the event itself.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import SplitResult, urlsplit

from budget.webhooks.deliveries import Claim, Outcome
from budget.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
    standard_headers,
)
from budget.webhooks.slack import SLACK, slack_message
from budget.webhooks.targets import TargetPolicy, TargetRefused, connect_checked

USER_AGENT = "budget-webhooks/0.1"
_MAX_BODY = 65536
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def event_body(claim: Claim, public_url: str | None = None) -> bytes:
    """The JSON body of a delivery, compact, UTF-8: the event itself, or for a
    ``slack`` webhook a Slack message about it."""
    if claim.kind == SLACK:
        payload = slack_message(claim.event, public_url)
    else:
        payload = claim.event.to_dict()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_headers(claim: Claim, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Content type, the Standard Webhooks headers (a signature per live secret),
    the deprecated ``Budget-Signature``, and the event's id and type."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **standard_headers(claim.secrets, claim.event.event_id, ts, body),
        SIGNATURE_HEADER: signature_header(claim.secrets, body, ts),
        EVENT_ID_HEADER: claim.event.event_id,
        EVENT_TYPE_HEADER: claim.event.type,
        DELIVERY_HEADER: str(claim.delivery_id),
    }


class Sender:
    """POSTs deliveries; safe to use from several threads (each keeps its own connections)."""

    def __init__(
        self,
        timeout: float,
        policy: TargetPolicy | None = None,
        public_url: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.policy = policy or TargetPolicy()
        self.public_url = public_url
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, claim: Claim) -> Outcome:
        """One attempt; never raises for a receiver's failure."""
        body = event_body(claim, self.public_url)
        headers = delivery_headers(claim, body, int(time.time()))
        parts = urlsplit(claim.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn, reused = self._connection(parts)
        try:
            return self._post(claim, conn, path, body, headers)
        except _STALE as exc:
            self._drop(parts, conn)
            if not reused:
                return Outcome(claim, False, None, f"{type(exc).__name__}: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            self._drop(parts, conn)
            return Outcome(claim, False, None, _describe(exc, self.timeout))
        conn, _ = self._connection(parts)
        try:
            return self._post(claim, conn, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(parts, conn)
            return Outcome(claim, False, None, _describe(exc, self.timeout))

    def _post(self, claim: Claim, conn, path: str, body: bytes, headers) -> Outcome:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        if response.length is not None and response.length > _MAX_BODY:
            text = response.read(_MAX_BODY)
            self._drop(urlsplit(claim.url), conn)
        else:
            text = response.read()
            if response.will_close:
                self._drop(urlsplit(claim.url), conn)
        if 200 <= response.status < 300:
            return Outcome(claim, True, response.status)
        snippet = text[:200].decode("utf-8", "replace").strip()
        return Outcome(claim, False, response.status, f"HTTP {response.status} {snippet}".strip())

    def _connection(self, parts: SplitResult) -> tuple[http.client.HTTPConnection, bool]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        key = (parts.scheme, parts.hostname, parts.port)
        conn = pool.get(key)
        if conn is not None:
            return conn, True
        factory = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = factory(parts.hostname or "", parts.port, timeout=self.timeout)
        conn._create_connection = self._checked_connect(parts)  # type: ignore[attr-defined]
        pool[key] = conn
        with self._lock:
            self._all.append(conn)
        return conn, False

    def _checked_connect(self, parts: SplitResult):
        """Connect to an address of the host allowed by the policy (TLS still
        verifies the host name: http.client wraps this socket for it)."""
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)

        def connect(address, timeout=None, source_address=None):
            return connect_checked(host, port, self.policy, timeout)

        return connect

    def _drop(self, parts: SplitResult, conn: http.client.HTTPConnection) -> None:
        pool = getattr(self._local, "pool", {})
        key = (parts.scheme, parts.hostname, parts.port)
        if pool.get(key) is conn:
            del pool[key]
        conn.close()
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TargetRefused):
        return f"refused target: {exc}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    return f"{type(exc).__name__}: {exc}"
