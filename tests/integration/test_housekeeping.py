"""The server's periodic round: expired reservations return, forecast alerts rise."""

import time
from decimal import Decimal

from budget.domain.enums import AlertKind, AllocationStatus
from budget.engine.housekeeping import Housekeeper


def test_a_round_sweeps_expired_allocations_and_raises_forecast_alerts(svc, pinned_clock):
    team = svc.create_budget(name="kept")
    svc.add_policy(team.budget_id, type="warn", period="daily", cost_limit=Decimal("1"))
    noon = pinned_clock.now
    for hour in range(12):  # gpt-4o input at $2.50/M: $0.05 an hour, heading for $1.20
        svc.record_usage(
            provider="openai",
            model="gpt-4o",
            input_tokens=20_000,
            occurred_at=noon.replace(hour=hour, minute=30),
        )
    held = svc.allocate(context_id="forgotten", tokens=100, ttl_seconds=60)
    pinned_clock.advance(minutes=2)

    keeper = Housekeeper(svc, interval=0)
    assert keeper.run_once() == {"expired": 1, "forecast_alerts": 1}
    assert svc.get_allocation(held.allocation_id).status is AllocationStatus.EXPIRED
    kinds = [a.kind for a in svc.list_alerts(budget_id=team.budget_id)]
    assert AlertKind.FORECAST_EXCEEDS in kinds
    assert keeper.run_once() == {"expired": 0, "forecast_alerts": 0}  # once per cause


def test_the_thread_starts_runs_and_stops(svc):
    keeper = Housekeeper(svc, interval=0.05)
    keeper.start()
    start = time.monotonic()
    # The first round loads the price catalog; on a loaded machine that alone
    # has taken seconds, so the wait is generous (it ends at the second round).
    while keeper.rounds < 2 and time.monotonic() - start < 60:
        time.sleep(0.02)
    keeper.stop()
    assert keeper.rounds >= 2
