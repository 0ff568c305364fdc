"""Budget for async programs: the same methods as coroutines.

``asvc = budget.open_async(url)`` (the library, each call in a worker thread)
or ``asvc = budget.connect_async(server_url, key=...)`` (the REST API over
``httpx.AsyncClient``); then ``await asvc.allocate(...)`` and
``async with asvc.spend(...) as call: ...; call.record(...)``.
"""

from budget.aio.remote import AsyncRemoteService, connect_async
from budget.aio.service import AsyncBudgetService, open_async
from budget.aio.spend import AsyncSpend

__all__ = [
    "AsyncBudgetService",
    "AsyncRemoteService",
    "AsyncSpend",
    "connect_async",
    "open_async",
]
