"""Streams handed back by a wrapped client: the SDK's own stream, watched.

Each chunk or event passes to the caller as the SDK made it (except the
usage-only chunk of a chat stream that the caller did not ask for). When the
stream ends, fails or is closed early, what the provider had reported so far
is recorded and the rest of the reservation released: a chat stream reports
usage only at its end, so one closed early releases everything; an
Anthropic stream reports input at its start and output as it goes.
"""

from __future__ import annotations

import time
from typing import Any

from budget.integrations.gate import Gate, Ticket


class _Watched:
    def __init__(self, stream, watcher, gate: Gate, ticket: Ticket, show_usage, started) -> None:
        self._stream = stream
        self._watcher = watcher
        self._gate = gate
        self._ticket = ticket
        self._show_usage = show_usage
        self._started = started or time.perf_counter()

    def _keep(self, item: Any) -> bool:
        return self._watcher.see(item) or self._show_usage

    def _settle(self) -> None:
        self._gate.done(self._ticket, self._watcher.usage, self._watcher.id, self._started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class MeteredStream(_Watched):
    """A sync stream (iterate it, or use it in ``with``)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._iterator = iter(self._stream)

    def __iter__(self) -> MeteredStream:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                item = next(self._iterator)
            except BaseException:
                self._settle()
                raise
            if self._keep(item):
                return item

    def close(self) -> None:
        """Stop reading; record what was reported and release the rest."""
        try:
            self._stream.close()
        finally:
            self._settle()

    def __enter__(self) -> MeteredStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._ticket.closed:
            self._settle()


class AsyncMeteredStream(_Watched):
    """An async stream (``async for``, or ``async with``)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._iterator = self._stream.__aiter__()

    def __aiter__(self) -> AsyncMeteredStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                item = await self._iterator.__anext__()
            except BaseException:
                await self._asettle()
                raise
            if self._keep(item):
                return item

    async def _asettle(self) -> None:
        await self._gate.adone(self._ticket, self._watcher.usage, self._watcher.id, self._started)

    async def close(self) -> None:
        """Stop reading; record what was reported and release the rest."""
        try:
            closing = getattr(self._stream, "close", None) or self._stream.aclose
            await closing()
        finally:
            await self._asettle()

    aclose = close

    async def __aenter__(self) -> AsyncMeteredStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __del__(self) -> None:
        if not self._ticket.closed:  # dropped unread: settle without the loop
            self._gate.done(self._ticket, self._watcher.usage, self._watcher.id, self._started)


class MeteredManager:
    """A streaming helper's manager (``client.messages.stream(...)`` and the
    like), sync or async: it reserves on entering, before the request is
    sent, hands over the SDK's own stream, and on leaving records the usage
    its snapshot holds and releases the rest."""

    def __init__(self, method, args, kwargs, endpoint, gate: Gate, plan, prepare) -> None:
        self._method, self._args, self._kwargs = method, args, kwargs
        self._endpoint, self._gate, self._plan, self._prepare = endpoint, gate, plan, prepare
        self._ticket: Ticket | None = None
        self._manager: Any = None
        self._stream: Any = None
        self._started = 0.0

    def _open_manager(self) -> Any:
        assert self._ticket is not None
        self._prepare(self._kwargs, self._endpoint, self._ticket)
        self._started = time.perf_counter()
        self._manager = self._method(*self._args, **self._kwargs)
        return self._manager

    def _reported(self) -> tuple[str | None, dict[str, int] | None]:
        return self._endpoint.snapshot(self._stream) if self._stream is not None else (None, None)

    def __enter__(self) -> Any:
        self._ticket = self._gate.open(self._plan)
        try:
            self._stream = self._open_manager().__enter__()
        except BaseException as error:
            self._gate.fail(self._ticket, error)
            raise
        return self._stream

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._manager.__exit__(*exc)
        finally:
            rid, usage = self._reported()
            self._gate.done(self._ticket, usage, rid, self._started)

    async def __aenter__(self) -> Any:
        self._ticket = await self._gate.aopen(self._plan)
        try:
            self._stream = await self._open_manager().__aenter__()
        except BaseException as error:
            await self._gate.afail(self._ticket, error)
            raise
        return self._stream

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc)
        finally:
            rid, usage = self._reported()
            await self._gate.adone(self._ticket, usage, rid, self._started)
