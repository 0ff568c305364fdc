"""The real REST app served by uvicorn in a thread on 127.0.0.1, for client tests,
and HTTP transports that fail on purpose (to test the client's retries)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from budget.server.app import create_app


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(service) -> Iterator[str]:
    """Serve ``service`` over HTTP until the block ends; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(service=service), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _failed(action: str, request: httpx.Request) -> httpx.Response | None:
    if action == "refuse":  # the connection is never made: nothing was sent
        raise httpx.ConnectError("connection refused", request=request)
    if action == "503":
        body = {"type": "about:blank", "title": "Busy", "status": 503, "detail": "try again"}
        return httpx.Response(503, json=body, request=request)
    return None


class Flaky(httpx.BaseTransport):
    """Real HTTP, but the n-th request does what ``plan[n]`` says: ``refuse``
    (connect error), ``503`` (an answer without reaching the server), ``drop``
    (reaches the server, which does the work, but the answer is lost), or ``pass``."""

    def __init__(self, *plan: str) -> None:
        self.plan = list(plan)
        self.seen: list[tuple[str, str, str]] = []
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        action = self.plan.pop(0) if self.plan else "pass"
        self.seen.append((request.method, request.url.path, action))
        failed = _failed(action, request)
        if failed is not None:
            return failed
        response = self._inner.handle_request(request)
        if action == "drop":
            response.read()
            response.close()
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncFlaky(httpx.AsyncBaseTransport):
    """:class:`Flaky` for ``httpx.AsyncClient``."""

    def __init__(self, *plan: str) -> None:
        self.plan = list(plan)
        self.seen: list[tuple[str, str, str]] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        action = self.plan.pop(0) if self.plan else "pass"
        self.seen.append((request.method, request.url.path, action))
        failed = _failed(action, request)
        if failed is not None:
            return failed
        response = await self._inner.handle_async_request(request)
        if action == "drop":
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
