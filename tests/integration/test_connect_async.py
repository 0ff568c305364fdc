"""The async API: budget.open_async (the library in worker threads) and
budget.connect_async (the REST app over httpx.AsyncClient).

50 allocations gathered at once against one hard limit grant exactly what
fits; ``async with spend()`` records and releases; retries follow the same
rules as the sync client.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import budget
from budget.aio import AsyncBudgetService, AsyncRemoteService
from budget.domain.models import Allocation
from budget.remote import RetryPolicy, ServerUnavailable

sys.path.insert(0, str(Path(__file__).parent))
from _serve import AsyncFlaky, serving

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
CALL = {"provider": "openai", "model": "gpt-4o"}


@pytest.fixture
def server(svc) -> Iterator[str]:
    with serving(svc) as url:
        yield url


def _limited(svc, tokens: int) -> str:
    team = svc.create_budget(name="shared")
    svc.add_policy(team.budget_id, type="hard_limit", period="daily", token_limit=tokens)
    return team.budget_id


async def _gather_allocations(asvc, count: int) -> tuple[list, list]:
    results = await asyncio.gather(
        *(asvc.allocate(context_id=f"c{i}", tokens=100, **CALL) for i in range(count)),
        return_exceptions=True,
    )
    granted = [r for r in results if isinstance(r, Allocation)]
    denied = [r for r in results if isinstance(r, budget.BudgetExceeded)]
    assert len(granted) + len(denied) == count, [r for r in results if isinstance(r, Exception)]
    return granted, denied


@pytest.mark.parametrize("kind", ["library", "remote"])
def test_fifty_gathered_allocations_grant_exactly_what_fits(svc, server, kind):
    budget_id = _limited(svc, 2000)

    async def main() -> tuple[list, list]:
        if kind == "library":
            return await _gather_allocations(AsyncBudgetService(svc), 50)
        async with budget.connect_async(server, retry=FAST) as asvc:
            return await _gather_allocations(asvc, 50)

    granted, denied = asyncio.run(main())
    assert len(granted) == 20 and len(denied) == 30
    assert len({a.allocation_id for a in granted}) == 20
    window = svc.summary(budget_id).windows[0]
    assert window.tokens_reserved == 2000 and window.tokens_remaining == 0


def _async_services(svc, server):
    return {
        "library": lambda: AsyncBudgetService(svc),
        "remote": lambda: budget.connect_async(server, retry=FAST),
    }


@pytest.mark.parametrize("kind", ["library", "remote"])
def test_async_spend_records_and_releases(svc, server, kind):
    budget_id = _limited(svc, 3000)

    async def main():
        asvc = _async_services(svc, server)[kind]()
        async with asvc.spend(
            context_id="t", input_tokens=1200, max_output_tokens=800, **CALL
        ) as call:
            call.record(output_tokens=640, request_id=f"{kind}-1")
        done = await asvc.get_allocation(call.allocation_id)
        with pytest.raises(RuntimeError):
            async with asvc.spend(context_id="t", tokens=100, **CALL) as failing:
                failing.record(output_tokens=30, input_tokens=10)
                raise RuntimeError("the call failed after it spent")
        failed = await asvc.get_allocation(failing.allocation_id)
        ran = []
        with pytest.raises(budget.BudgetExceeded):
            async with asvc.spend(context_id="t", tokens=10_000, **CALL):
                ran.append(True)
        summary = await asvc.summary(budget_id)
        if isinstance(asvc, AsyncRemoteService):
            await asvc.close()
        return call, done, failing, failed, ran, summary

    call, done, failing, failed, ran, summary = asyncio.run(main())
    assert call.usage.output_tokens == 640 and call.usage.input_tokens == 1200
    assert done.status == "released" and done.tokens_used == 1840
    assert failing.usage.total_tokens == 40 and failed.status == "released"
    assert ran == []
    window = summary.windows[0]
    assert window.tokens_used == 1880 and window.tokens_reserved == 0


def test_async_remote_retries_usage_but_not_a_sent_allocation(svc, server):
    async def main():
        flaky = AsyncFlaky("drop", "pass", "drop")
        async with AsyncRemoteService(server, retry=FAST, transport=flaky) as asvc:
            rec = await asvc.record_usage(input_tokens=10, output_tokens=5, **CALL)
            with pytest.raises(ServerUnavailable):
                await asvc.allocate(context_id="c", tokens=100, **CALL)
            with pytest.raises(TypeError):
                await asvc.allocate(context_id="c", tokens=100, colour="red")
        return rec, flaky.seen

    rec, seen = asyncio.run(main())
    assert [a for _, _, a in seen] == ["drop", "pass", "drop"]
    assert rec.request_id.startswith("auto-")
    assert svc.usage_totals()["records"] == 1
    assert len(svc.list_allocations()) == 1


def test_open_async_and_the_async_reads(db_url, server, svc):
    team = svc.create_budget(name="reads")

    async def main():
        async with budget.open_async(db_url) as local:
            found = await local.find_budget("reads")
            estimate = await local.estimate_cost(provider="openai", model="gpt-4o", input_tokens=10)
        async with budget.connect_async(server) as remote:
            same = await remote.find_budget("reads")
            remote_estimate = await remote.estimate_cost(
                provider="openai", model="gpt-4o", input_tokens=10
            )
            alerts = await remote.list_alerts(budget_id=team.budget_id)
        return found, estimate, same, remote_estimate, alerts

    found, estimate, same, remote_estimate, alerts = asyncio.run(main())
    assert found == same == team
    assert estimate == remote_estimate and estimate.cost > 0
    assert alerts == [] and alerts.total == 0
