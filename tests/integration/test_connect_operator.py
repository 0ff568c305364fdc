"""``export_usage`` and ``doctor`` through budget.connect and budget.connect_async:
the same records and report as the service on the database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import budget
from budget.aio import AsyncBudgetService
from budget.clock import utcnow

sys.path.insert(0, str(Path(__file__).parent))
from _serve import serving


@pytest.fixture
def server(svc) -> Iterator[str]:
    with serving(svc) as url:
        yield url


def _ledger(svc, n: int = 30) -> None:
    start = utcnow() - timedelta(hours=3)
    svc.record_usage_batch(
        [
            {
                "provider": "openai" if i % 2 else "anthropic",
                "model": "gpt-4o" if i % 2 else "claude-3-5-haiku",
                "input_tokens": 10 + i,
                "occurred_at": start + timedelta(minutes=i // 4),
            }
            for i in range(n)
        ]
    )


def test_sync_client_exports_what_the_service_exports(svc, server):
    _ledger(svc)
    with budget.connect(server) as remote:
        for filters in ({}, {"provider": "openai"}, {"since": "2h"}):
            assert list(remote.export_usage(**filters)) == list(svc.export_usage(**filters))
        with pytest.raises(budget.ValidationError) as err:
            remote.export_usage(since="soon")  # refused before any record is read
        assert err.value.field == "since"
        with pytest.raises(budget.ValidationError) as err:
            remote.export_usage(colour="red")
        assert err.value.field == "colour"


def test_async_client_exports_what_the_service_exports(svc, server):
    _ledger(svc)

    async def both(client):
        every = [u async for u in client.export_usage()]
        some = [u async for u in client.export_usage(provider="anthropic")]
        return every, some

    async def remote():
        async with budget.connect_async(server) as client:
            return await both(client)

    expected = (list(svc.export_usage()), list(svc.export_usage(provider="anthropic")))
    assert asyncio.run(remote()) == expected
    assert asyncio.run(both(AsyncBudgetService(svc))) == expected


def test_both_clients_read_the_doctor_report(svc, server):
    local = svc.doctor()
    with budget.connect(server) as remote:
        report = remote.doctor()

    async def read():
        async with budget.connect_async(server) as remote:
            return await remote.doctor()

    threaded = asyncio.run(AsyncBudgetService(svc).doctor())
    for got in (report, asyncio.run(read()), threaded):
        assert [c.name for c in got.checks] == [c.name for c in local.checks]
        assert got.status == local.status
        assert got.checks[0].details["url"] == local.checks[0].details["url"]
