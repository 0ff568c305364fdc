"""budget prune on both backends: a dry run counts exactly what the real run then
deletes; finished deliveries, delivered events and closed allocations go, while
pending deliveries, undelivered events and the newest event stay; the ledger
goes only when asked, never inside a live window, and reports of pruned days
give the same totals as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from webhook_receiver import Receiver, refusing_url

import budget
from budget.engine.housekeeping import Housekeeper
from budget.errors import NotFound, ValidationError

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
FAST = {
    "webhook_allow_private": True,  # the receivers listen on loopback
    "webhook_max_attempts": 2,
    "webhook_backoff_seconds": 0.01,
    "webhook_backoff_max_seconds": 0.05,
    "webhook_timeout_seconds": 0.5,
    "pool_size": 5,
}


@pytest.fixture
def service(db_url, pinned_clock) -> Iterator[budget.BudgetService]:
    pinned_clock.set(T0)
    svc = budget.open(db_url, **FAST)
    try:
        yield svc
    finally:
        svc.close()


def use(svc, **fields) -> budget.UsageRecord:
    values = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100}
    return svc.record_usage(**(values | fields))


def deliveries(svc, hook_id: str, status: str | None = None) -> list:
    return list(svc.list_webhook_deliveries(hook_id, status=status, limit=1000))


def settle(svc, clock, hook_id: str) -> None:
    """Deliver until nothing of ``hook_id`` is pending (the clock moves past each backoff)."""
    for _ in range(50):
        svc.deliver_events_now()
        if not deliveries(svc, hook_id, "pending"):
            return
        clock.advance(seconds=1)
    raise AssertionError("deliveries did not settle")


def test_dry_run_counts_what_the_prune_deletes_and_what_is_still_needed_stays(
    service, pinned_clock
):
    svc = service
    team = svc.create_budget("team")
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**9)
    with Receiver() as ok:
        good, _ = svc.create_webhook(ok.url)
        bad, _ = svc.create_webhook(refusing_url())
        # 1. long ago: usage, a released and an expired allocation, all sent (or dead)
        for _ in range(3):
            use(svc)
        released = svc.allocate(context_id="a", provider="openai", model="gpt-4o", tokens=50)
        svc.release(released.allocation_id)
        expired = svc.allocate(
            context_id="b", provider="openai", model="gpt-4o", tokens=50, ttl_seconds=60
        )
        pinned_clock.advance(minutes=5)
        assert svc.sweep_expired() == 1
        settle(svc, pinned_clock, good.webhook_id)
        settle(svc, pinned_clock, bad.webhook_id)
        first_batch = svc.last_event_sequence()
        # 2. ten days later, still long ago: the dead receiver's deliveries stay pending
        pinned_clock.set(T0 + timedelta(days=10))
        for _ in range(2):
            use(svc)
        svc.deliver_events_now()
        pending = {d.delivery_id for d in deliveries(svc, bad.webhook_id, "pending")}
        assert pending
        # 3. now: recent events nobody has been sent yet, a recent closed allocation
        pinned_clock.set(NOW)
        use(svc)
        recent = svc.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=50)
        svc.release(recent.allocation_id)
    finished = [
        d
        for hook in (good, bad)
        for d in deliveries(svc, hook.webhook_id)
        if d.status in ("delivered", "dead")
    ]
    top = svc.last_event_sequence()

    dry = svc.prune("90d", dry_run=True)
    assert dry.counts == {
        "webhook_deliveries": len(finished),
        "events": first_batch,  # every event of the first batch, nothing after it
        "allocation_windows": 2,
        "allocations": 2,
    }
    assert svc.last_event_sequence() == top  # a dry run deletes nothing
    assert len(deliveries(svc, good.webhook_id)) + len(deliveries(svc, bad.webhook_id)) > len(
        pending
    )

    done = svc.prune("90d")
    assert done.counts == dry.counts and not done.dry_run
    assert {d.delivery_id for d in deliveries(svc, bad.webhook_id, "pending")} == pending
    assert deliveries(svc, good.webhook_id) == []
    remaining = svc.list_events(after=0, limit=1000)
    assert remaining[0].sequence == first_batch + 1 and remaining[-1].sequence == top
    for hook in (good, bad):  # every delivery left still finds its event
        seqs = {e.sequence for e in remaining}
        assert {d.event_sequence for d in deliveries(svc, hook.webhook_id)} <= seqs
    with pytest.raises(NotFound):
        svc.get_allocation(released.allocation_id)
    with pytest.raises(NotFound):
        svc.get_allocation(expired.allocation_id)
    assert svc.get_allocation(recent.allocation_id).status.value == "released"
    with pytest.raises(NotFound):  # usage against a pruned allocation: a clear error
        use(svc, allocation_id=released.allocation_id)

    assert svc.prune("90d").total == 0  # nothing twice
    use(svc)  # numbering goes on after the newest event, never restarts
    assert svc.last_event_sequence() == top + 1


def test_the_newest_event_and_a_paused_webhooks_events_stay(service, pinned_clock):
    svc = service
    use(svc)  # an event before any webhook
    paused, _ = svc.create_webhook(refusing_url())
    svc.set_webhook_active(paused.webhook_id, False)
    use(svc)
    use(svc)
    pinned_clock.set(NOW)
    # The paused webhook fans out from its cursor when resumed: only the event
    # before it was created may go; without any webhook the newest one stays.
    assert svc.prune("30d").counts["events"] == 1
    svc.delete_webhook(paused.webhook_id)
    assert svc.prune("30d", dry_run=True).counts["events"] == 1
    assert svc.prune("30d").counts["events"] == 1
    assert [e.sequence for e in svc.list_events(after=0)] == [3]


def _report(svc, **extra) -> dict:
    report = svc.usage_report(
        since="2026-06-01", until="2026-11-29", group_by=["model"], bucket="day", **extra
    )
    out = report.to_dict()
    out.pop("source")
    return out


def test_the_ledger_goes_only_when_asked_outside_live_windows_and_reports_stay_equal(
    service, pinned_clock
):
    svc = service
    team = svc.create_budget("team")
    svc.add_policy(team.budget_id, type="warn", period="monthly", token_limit=10**9)
    kept = svc.create_budget("kept")
    svc.add_policy(kept.budget_id, type="warn", period="total", token_limit=10**9, project="keep")
    svc.add_policy(
        kept.budget_id, type="warn", period="per_session", token_limit=10**9, component="chat"
    )
    gone = []
    for day in range(3):
        at = T0 + timedelta(days=day, minutes=7 * day)
        gone.append(use(svc, occurred_at=at, model="gpt-4o-mini" if day else "gpt-4o"))
        gone.append(use(svc, occurred_at=at, session_id="s1", component="batch"))
    voided = svc.void_usage(gone[0].usage_id, reason="test double")
    total_scope = use(svc, occurred_at=T0, project="keep")
    session_scope = use(svc, occurred_at=T0, session_id="s1", component="chat")
    this_month = use(svc, occurred_at=datetime(2026, 11, 5, 9, 30, tzinfo=UTC))
    pinned_clock.set(NOW)
    before = _report(svc)
    assert before["total"]["records"] == len(gone) - 1 + 3
    as_recorded = _report(svc, corrections="exclude")

    assert "usage_records" not in svc.prune("1d").counts  # the ledger only when asked
    assert svc.get_usage(gone[1].usage_id)

    dry = svc.prune("1d", ledger=True, dry_run=True)
    # The monthly policy's current window starts on 2026-11-01: nothing after goes.
    assert dry.ledger_cut == datetime(2026, 11, 1, tzinfo=UTC)
    assert dry.counts["usage_records"] == len(gone) + 1  # and the void of gone[0]
    done = svc.prune("1d", ledger=True)
    assert done.counts == dry.counts

    for record in [*gone, voided]:
        with pytest.raises(NotFound):
            svc.get_usage(record.usage_id)
    for record in (total_scope, session_scope, this_month):
        assert svc.get_usage(record.usage_id).usage_id == record.usage_id
    assert _report(svc) == before
    assert _report(svc, corrections="exclude") == as_recorded
    check = svc.rebuild_rollups(check_only=True)
    assert check.agreed  # pruned days are left to their rollups
    with pytest.raises(NotFound):  # a pruned record can no longer be corrected
        svc.void_usage(gone[1].usage_id, reason="late")
    with pytest.raises(ValidationError) as refused:  # a sub-hour piece of a pruned day
        svc.usage_report(since="2026-07-01T10:30:00Z", until="2026-07-05T00:00:00Z", group_by=[])
    assert refused.value.field == "since"
    with pytest.raises(ValidationError) as zone:
        svc.usage_report(
            since="2026-07-01T00:00:00Z",
            until="2026-07-05T00:00:00Z",
            group_by=[],
            bucket="day",
            timezone="Asia/Kolkata",
        )
    assert zone.value.field == "timezone"


def test_housekeeping_prunes_with_a_retention_setting(db_url, pinned_clock):
    pinned_clock.set(T0)
    svc = budget.open(db_url, retention_days=30, pool_size=5)
    try:
        done = svc.allocate(context_id="a", provider="openai", model="gpt-4o", tokens=5)
        svc.release(done.allocation_id)
        record = use(svc, occurred_at=T0)
        pinned_clock.set(NOW)
        keeper = Housekeeper(svc, interval=0)
        # the allocation (it holds no window: no policy) and two of its three
        # events (created, released; the newest, usage recorded, stays)
        assert keeper.run_once()["pruned"] == 3
        with pytest.raises(NotFound):
            svc.get_allocation(done.allocation_id)
        assert svc.get_usage(record.usage_id)  # the ledger stays without retention_ledger
    finally:
        svc.close()


def test_dry_run_equals_the_run_beyond_one_batch_of_the_sequencer(service, pinned_clock):
    """PostgreSQL numbers committed events 5,000 at a time: the prune numbers
    them all first, so the dry run and the run count the same events."""
    item = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 1}
    for _ in range(3):
        service.record_usage_batch([item] * 2100)
    pinned_clock.set(NOW)
    dry = service.prune("90d", dry_run=True)
    assert dry.counts["events"] == 6299  # all but the newest
    assert service.prune("90d").counts == dry.counts


def test_another_process_that_remembers_a_pruned_allocation_gets_not_found(
    service, db_url, pinned_clock
):
    team = service.create_budget("team")
    service.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**9)
    held = service.allocate(context_id="a", provider="openai", model="gpt-4o", tokens=50)
    service.release(held.allocation_id)
    other = budget.open(db_url, pool_size=2)
    try:
        use(other, allocation_id=held.allocation_id)  # late usage: ``other`` caches it
        pinned_clock.set(NOW)
        assert service.prune("90d").counts["allocations"] == 1
        with pytest.raises(NotFound) as recorded:
            use(other, allocation_id=held.allocation_id)
        assert recorded.value.field == "allocation_id"
        with pytest.raises(NotFound):
            other.release(held.allocation_id)
    finally:
        other.close()
