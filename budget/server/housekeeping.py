"""The housekeeping runner: the service's housekeeper runs while the app runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from budget.engine.service import BudgetService


@asynccontextmanager
async def housekeeping(service: BudgetService, owned: bool) -> AsyncIterator[None]:
    """Run the housekeeper of a service the app opened itself (every
    ``housekeeping_interval_seconds``; 0: never). A service handed to the app
    is its owner's to keep: the app leaves its housekeeper alone."""
    keeper = service.runtime.housekeeper if owned else None
    if keeper is not None:
        keeper.start()
    try:
        yield
    finally:
        if keeper is not None:
            await anyio.to_thread.run_sync(keeper.stop)
