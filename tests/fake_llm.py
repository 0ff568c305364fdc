"""A fake OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, for tests.

It answers the endpoints the official SDKs call — OpenAI chat completions,
responses and embeddings; Anthropic messages — with canned JSON or SSE
streams that carry usage blocks, and counts the requests it receives, so a
test can prove that a refused call never reached the provider.

    with FakeLLM() as fake:
        client = OpenAI(base_url=fake.openai_url, api_key="test")
        fake.usage = Usage(input=1200, output=300, cached=1000, reasoning=100)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Usage:
    """What the fake reports, in the provider's terms. ``input`` is OpenAI's
    prompt tokens (cache reads included); Anthropic's ``input_tokens`` is
    reported apart from its cache reads and writes, as Anthropic does."""

    input: int = 1200
    output: int = 300
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0


class FakeLLM:
    """A running fake provider; ``requests`` counts what reached it, by path."""

    def __init__(self, usage: Usage | None = None) -> None:
        self.usage = usage or Usage()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: Seconds between stream chunks (a slow stream a test can cancel).
        self.chunk_delay = 0.0
        #: Text chunks a stream sends before its usage.
        self.chunks = 3
        #: An HTTP status to answer every request with instead (e.g. 500).
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._ids = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if path is None or p == path)

    def next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}_{self._ids:06d}"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- answers -------------------------------------------------------------

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok " * self.chunks},
                    "finish_reason": "stop",
                }
            ],
            "usage": self._openai_usage(),
        }

    def _openai_usage(self) -> dict[str, Any]:
        u = self.usage
        return {
            "prompt_tokens": u.input,
            "completion_tokens": u.output,
            "total_tokens": u.input + u.output,
            "prompt_tokens_details": {"cached_tokens": u.cached},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning},
        }

    def chat_stream(self, body: dict[str, Any]):
        cid = self.next_id("chatcmpl")
        base = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o"),
        }
        for i in range(self.chunks):
            delta = {"role": "assistant", "content": "ok "} if i == 0 else {"content": "ok "}
            yield base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        if (body.get("stream_options") or {}).get("include_usage"):
            yield base | {"choices": [], "usage": self._openai_usage()}

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        u = self.usage
        return {
            "id": self.next_id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model", "gpt-4o"),
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "ok", "annotations": []}],
                }
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": u.input,
                "input_tokens_details": {"cached_tokens": u.cached},
                "output_tokens": u.output,
                "output_tokens_details": {"reasoning_tokens": u.reasoning},
                "total_tokens": u.input + u.output,
            },
        }

    def response_stream(self, body: dict[str, Any]):
        done = self.response(body)
        created = done | {"status": "in_progress", "usage": None, "output": []}
        yield {"type": "response.created", "sequence_number": 0, "response": created}
        item = {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant"}
        yield {
            "type": "response.output_item.added",
            "sequence_number": 0,
            "output_index": 0,
            "item": item | {"content": []},
        }
        yield {
            "type": "response.content_part.added",
            "sequence_number": 0,
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        }
        for i in range(self.chunks):
            yield {
                "type": "response.output_text.delta",
                "sequence_number": i + 1,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "ok ",
                "logprobs": [],
            }
        yield {"type": "response.completed", "sequence_number": self.chunks + 1, "response": done}

    def embedding(self, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("input")
        count = len(items) if isinstance(items, list) else 1
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.0, 0.1]} for i in range(count)
            ],
            "model": body.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": self.usage.input, "total_tokens": self.usage.input},
        }

    def _anthropic_usage(self) -> dict[str, Any]:
        u = self.usage
        return {
            "input_tokens": u.input,
            "output_tokens": u.output,
            "cache_read_input_tokens": u.cached,
            "cache_creation_input_tokens": u.cache_write,
        }

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-sonnet-4-5"),
            "content": [{"type": "text", "text": "ok " * self.chunks}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": self._anthropic_usage(),
        }

    def message_stream(self, body: dict[str, Any]):
        done = self.message(body)
        start_usage = self._anthropic_usage() | {"output_tokens": 1}
        start = done | {"content": [], "stop_reason": None, "usage": start_usage}
        yield "message_start", {"type": "message_start", "message": start}
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        for _ in range(self.chunks):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "ok "},
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": 0}
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": self.usage.output},
            },
        )
        yield "message_stop", {"type": "message_stop"}


def _handler(fake: FakeLLM):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body leave in separate writes: without this, the
            # client's delayed ACK holds each answer back by ~40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args: object) -> None:  # quiet
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.split("?")[0]
            with fake._lock:
                fake.requests.append((path, body))
            if fake.fail_with is not None:
                return self._json({"error": {"message": "fake failure"}}, fake.fail_with)
            stream = bool(body.get("stream"))
            if path == "/v1/chat/completions":
                if stream:
                    return self._sse((None, c) for c in fake.chat_stream(body))
                return self._json(fake.chat(body))
            if path == "/v1/responses":
                if stream:
                    return self._sse((e["type"], e) for e in fake.response_stream(body))
                return self._json(fake.response(body))
            if path == "/v1/embeddings":
                return self._json(fake.embedding(body))
            if path == "/v1/messages":
                if stream:
                    return self._sse(fake.message_stream(body))
                return self._json(fake.message(body))
            return self._json({"error": {"message": f"no route {path}"}}, 404)

        def _json(self, data: dict[str, Any], status: int = 200) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            if status == 200:
                self.send_header("request-id", "req_fake")
            self.end_headers()
            self.wfile.write(raw)

        def _sse(self, events) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            try:
                for name, data in events:
                    frame = (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
                    self.wfile.write(frame.encode())
                    self.wfile.flush()
                    if fake.chunk_delay:
                        time.sleep(fake.chunk_delay)
                if self.path.startswith("/v1/chat"):
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away mid-stream
            self.close_connection = True

    return Handler


if __name__ == "__main__":  # serve until stdin closes: ``python tests/fake_llm.py``
    import sys

    with FakeLLM(Usage(input=40, output=20)) as served:
        print(served.url, flush=True)
        sys.stdin.read()
