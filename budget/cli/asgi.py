"""AppTransport: a synchronous httpx transport that answers from an ASGI app in
this process, streaming the response as the app sends it.

httpx's own ASGITransport is async-only and collects the whole body before
answering; ``budget usage export`` must stream a ledger of any size, so this
one runs the app on an event loop in a thread of its own (an anyio blocking
portal, started on the first request) and hands each body message over as it
comes, with no buffer: the app writes a chunk when the command has read the
last. An exception the app does not handle is raised to the caller, as it
would be had the command called the engine itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

#: Where the app sees requests come from.
CLIENT = ("127.0.0.1", 0)
_FAILED = "budget.failed"


class AppTransport(httpx.BaseTransport):
    """Requests to ``app``, an ASGI application, in this process."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None

    def _loop(self) -> BlockingPortal:
        if self._portal is None:
            self._portal_cm = start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        portal = self._loop()
        sender, messages = portal.call(_channel)
        portal.start_task_soon(_serve, self._app, _scope(request), request.read(), sender)
        body = _Body(portal, messages)
        start = body.next_message()
        if start is None or start["type"] != "http.response.start":
            raise RuntimeError("the app answered without starting a response")
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        return httpx.Response(start["status"], headers=headers, stream=body)

    def close(self) -> None:
        if self._portal_cm is not None and self._portal is not None:
            with contextlib.suppress(RuntimeError):
                self._portal.call(self._portal.stop, True)
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = None


class _Body(httpx.SyncByteStream):
    """The response body, message by message from the app's task."""

    def __init__(self, portal: BlockingPortal, messages: Any) -> None:
        self._portal = portal
        self._messages = messages

    def next_message(self) -> dict[str, Any] | None:
        """The app's next message (None once it finished); its exception, raised."""
        try:
            message = self._portal.call(self._messages.receive)
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None
        if message["type"] == _FAILED:
            raise message["error"]
        return message

    def __iter__(self) -> Iterator[bytes]:
        while (message := self.next_message()) is not None:
            if message["type"] != "http.response.body":
                continue
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                while self.next_message() is not None:  # an error raised after the answer
                    pass
                return

    def close(self) -> None:
        """Stop listening: an app still writing the body gets a closed channel."""
        with contextlib.suppress(RuntimeError):
            self._portal.call(self._messages.aclose)


async def _channel() -> tuple[Any, Any]:
    return anyio.create_memory_object_stream[dict[str, Any]](0)


async def _serve(app: Any, scope: dict[str, Any], body: bytes, sender: Any) -> None:
    """Run the app on one request, its messages into ``sender``."""
    sent_body = anyio.Event()
    answered = anyio.Event()

    async def receive() -> dict[str, Any]:
        if not sent_body.is_set():
            sent_body.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await sender.send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    async with sender:
        try:
            await app(scope, receive, send)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the command stopped reading
        except Exception as exc:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await sender.send({"type": _FAILED, "error": exc})
        finally:
            answered.set()


def _scope(request: httpx.Request) -> dict[str, Any]:
    """The ASGI scope of an HTTP request."""
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "server": (url.host, url.port or 80),
        "client": CLIENT,
        "root_path": "",
    }
