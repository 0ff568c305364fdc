"""AsyncBudgetService: the library for async programs.

Each method is a coroutine function that runs the blocking
:class:`budget.BudgetService` method in a worker thread
(``anyio.to_thread.run_sync``, so asyncio and trio alike), keeping the event
loop free while the database works. Threads come from anyio's default
limiter (40 at a time, process-wide). A cancelled await still waits for its
thread: the call completes and its result is lost (an allocation made that
way expires after its TTL).
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread

from budget.aio.spend import AsyncSpend
from budget.domain.models import UsageRecord
from budget.engine.service import BudgetService

#: The BudgetService methods offered as coroutines.
THREADED = (
    "create_budget",
    "get_budget",
    "find_budget",
    "list_budgets",
    "update_budget",
    "delete_budget",
    "add_policy",
    "get_policy",
    "list_policies",
    "update_policy",
    "disable_policy",
    "enable_policy",
    "delete_policy",
    "allocate",
    "check",
    "release",
    "get_allocation",
    "list_allocations",
    "sweep_expired",
    "record_usage",
    "record_usage_batch",
    "void_usage",
    "adjust_usage",
    "get_usage",
    "list_usage",
    "usage_totals",
    "summary",
    "window_history",
    "list_alerts",
    "acknowledge_alert",
    "acknowledge_alerts",
    "estimate_cost",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "usage_report",
    "forecast",
    "recommend_models",
    "model_facts",
    "route_request",
    "doctor",
)
#: Records ``export_usage`` reads per trip to a worker thread.
EXPORT_BATCH = 1000


def _take(records: Iterator[UsageRecord], n: int) -> list[UsageRecord]:
    return list(itertools.islice(records, n))


def _threaded(name: str) -> Any:
    blocking = getattr(BudgetService, name)

    @functools.wraps(blocking)
    async def method(self: AsyncBudgetService, *args: Any, **kwargs: Any) -> Any:
        bound = getattr(self.sync, name)
        return await anyio.to_thread.run_sync(functools.partial(bound, *args, **kwargs))

    method.__qualname__ = f"AsyncBudgetService.{name}"
    return method


class AsyncBudgetService:
    """The methods of :class:`budget.BudgetService` as coroutines.

    Build one with :func:`budget.open_async`; ``await asvc.allocate(...)``,
    ``async with asvc.spend(...) as call: ...; call.record(...)``. ``sync`` is
    the blocking service underneath, for anything not offered here.
    """

    def __init__(self, service: BudgetService) -> None:
        self.sync = service

    @property
    def settings(self):
        return self.sync.settings

    @asynccontextmanager
    async def spend(self, *, context_id: str, **request: Any) -> AsyncIterator[AsyncSpend]:
        """Allocate on entry (``BudgetExceeded`` before the block runs); on exit
        record what ``call.record(...)`` reported and release, in one transaction."""
        allocation = await self.allocate(context_id=context_id, **request)
        call = AsyncSpend(self, allocation, request.get("input_tokens"))
        try:
            yield call
        finally:
            await call.aclose()

    async def export_usage(self, **filters: Any) -> AsyncIterator[UsageRecord]:
        """:meth:`BudgetService.export_usage` for ``async for``: the ledger is read
        in a worker thread, ``EXPORT_BATCH`` records at a time."""
        records = await anyio.to_thread.run_sync(
            functools.partial(self.sync.export_usage, **filters)
        )
        while batch := await anyio.to_thread.run_sync(_take, records, EXPORT_BATCH):
            for record in batch:
                yield record

    async def close(self) -> None:
        """Stop background work and release the database connections."""
        await anyio.to_thread.run_sync(self.sync.close)

    async def __aenter__(self) -> AsyncBudgetService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


for _name in THREADED:
    if inspect.isfunction(getattr(BudgetService, _name, None)):
        setattr(AsyncBudgetService, _name, _threaded(_name))


def open_async(url: str | None = None, *, settings: Any = None, **overrides: Any):
    """:func:`budget.open` for async programs: the same arguments, an
    :class:`AsyncBudgetService`. Opening (and, on first use, migrating) the
    database happens here, before it returns."""
    from budget.bootstrap import open as open_budget

    return AsyncBudgetService(open_budget(url, settings=settings, **overrides))
