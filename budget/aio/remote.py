"""AsyncRemoteService: the REST client for async programs, over ``httpx.AsyncClient``.

It shares every request, answer parser, error mapping and retry rule with
:class:`budget.remote.RemoteService` (``budget.remote.methods``); only the
sending is async.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from budget.aio.spend import AsyncSpend
from budget.domain import redact
from budget.domain.models import Budget, UsageRecord
from budget.remote import calls, operator
from budget.remote.client import DEFAULT_TIMEOUT
from budget.remote.errors import error_from_response, transport_error
from budget.remote.methods import SHARED, RemoteMethods
from budget.remote.wire import API_PREFIX, Call, RetryPolicy, base_url, http_options, result


class AsyncRemoteService(RemoteMethods):
    """The methods of :class:`budget.remote.RemoteService` as coroutines.

    Build one with :func:`budget.connect_async`; ``await asvc.allocate(...)``,
    ``async with asvc.spend(...) as call: ...; call.record(...)``. One pooled
    ``httpx.AsyncClient`` serves every task of the event loop it is used in.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            **http_options(self.url, key, timeout, max_connections, transport)
        )

    async def _run(self, call: Call) -> Any:  # type: ignore[override]
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method, call.url_path, json=call.json, params=call.params
                )
            except httpx.HTTPError as exc:
                pause = self.retry.after_error(call, attempt, exc)
                if pause is None:
                    raise transport_error(call.method, self.url + call.url_path, exc) from None
                await anyio.sleep(pause)
                continue
            pause = self.retry.after_response(call, attempt, response)
            if pause is None:
                return result(call, response)
            await anyio.sleep(pause)

    async def find_budget(self, name: str) -> Budget:
        """A live budget by name."""
        offset = 0
        while True:
            listing = await self._run(calls.list_budgets(None, None, calls.FIND_PAGE, offset))
            found = calls.pick_budget(name, listing, offset)
            if found is not None:
                return found
            offset += len(listing)

    async def list_budgets(
        self,
        *,
        owner: str | None = None,
        active: bool | None = None,
        budget_ids: list[str] | tuple[str, ...] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Budget]:
        """Live budgets by name (a client key's own when it is bound to some)."""
        if budget_ids is None:
            return await self._run(calls.list_budgets(owner, active, limit, offset))
        every = await self._run(calls.list_budgets(owner, active, calls.FIND_PAGE, 0))
        return calls.only_budgets(every, budget_ids, limit, offset)

    async def export_usage(
        self,
        *,
        since: Any = None,
        until: Any = None,
        budget_id: str | None = None,
        priced: bool | None = None,
        **filters: Any,
    ) -> AsyncIterator[UsageRecord]:
        """Every matching ledger entry, oldest first, streamed from
        ``GET /usage/export`` (``async for record in asvc.export_usage(...)``); a
        refusal is raised when the first record is awaited."""
        params = operator.export_params(since, until, budget_id, priced, dict(filters))
        path = API_PREFIX + operator.EXPORT_PATH
        try:
            async with self._http.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                async for line in response.aiter_lines():
                    for record in operator.usage_lines([line]):
                        yield record
        except httpx.HTTPError as exc:
            raise transport_error("GET", self.url + path, exc) from None

    @asynccontextmanager
    async def spend(self, *, context_id: str, **request: Any) -> AsyncIterator[AsyncSpend]:
        """Allocate on entry (``BudgetExceeded`` before the block runs); on exit
        record what ``call.record(...)`` reported and release, in one request."""
        allocation = await self.allocate(context_id=context_id, **request)
        call = AsyncSpend(self, allocation, request.get("input_tokens"))
        try:
            yield call
        finally:
            await call.aclose()

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRemoteService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncRemoteService({redact.url(self.url)!r})"


def _coroutine(name: str) -> Any:
    shared = getattr(RemoteMethods, name)

    @functools.wraps(shared)
    async def method(self: AsyncRemoteService, *args: Any, **kwargs: Any) -> Any:
        return await shared(self, *args, **kwargs)

    method.__qualname__ = f"AsyncRemoteService.{name}"
    return method


for _name in SHARED:
    setattr(AsyncRemoteService, _name, _coroutine(_name))


def connect_async(
    url: str,
    key: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> AsyncRemoteService:
    """:func:`budget.connect` for async programs: an :class:`AsyncRemoteService`."""
    return AsyncRemoteService(url, key, timeout=timeout, retry=retry, **options)
