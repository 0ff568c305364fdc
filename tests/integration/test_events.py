"""Events on both backends: the outbox is written in the change's own transaction
(a rollback emits nothing, a retried transaction emits once), every kind of
event is emitted with a payload naming budget, policy and window, and
in-process subscribers hear each committed event once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from test_price_catalog import prices, restore_prices, web  # noqa: F401  (fixtures)

import budget
from budget.errors import NotFound, ValidationError
from budget.events import emit as emit_module
from budget.events import types as ev


class Deadlock(Exception):
    sqlstate = "40P01"


def make_budget(svc, token_limit=1000, **policy):
    b = svc.create_budget("team-events")
    p = svc.add_policy(
        b.budget_id,
        type=policy.pop("type", "hard_limit"),
        period="daily",
        token_limit=token_limit,
        warning_thresholds=policy.pop("warning_thresholds", ["0.5"]),
        **policy,
    )
    return b, p


def kinds(svc, **filters) -> list[str]:
    return [e.type for e in svc.list_events(limit=1000, **filters)]


def test_each_kind_of_event_names_budget_policy_and_window(svc, pinned_clock):
    b, p = make_budget(svc)
    a = svc.allocate(context_id="c1", provider="openai", model="gpt-4o", tokens=400)
    svc.record_usage(allocation_id=a.allocation_id, input_tokens=300, output_tokens=300)
    svc.release(a.allocation_id)
    svc.allocate(context_id="c3", provider="openai", model="gpt-4o", tokens=1, ttl_seconds=1)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c2", provider="openai", model="gpt-4o", tokens=900)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=399, output_tokens=0)
    svc.record_usage(provider="acme", model="no-such-model", input_tokens=1)
    pinned_clock.advance(seconds=5)
    assert svc.sweep_expired() == 1

    found = svc.list_events(limit=100)
    assert [e.sequence for e in found] == list(range(1, len(found) + 1))
    by_type: dict[str, list] = {}
    for e in found:
        by_type.setdefault(e.type, []).append(e)
    window = {
        "budget_id": b.budget_id,
        "policy_id": p.policy_id,
        "policy_name": p.name,
        "window": "2026-11-29",
    }
    created = by_type[ev.ALLOCATION_CREATED][0]
    assert created.data["windows"] == [window] and created.budget_ids == (b.budget_id,)
    assert created.data["allocation_id"] == a.allocation_id
    assert created.data["tokens_reserved"] == 400 and created.data["cost_reserved"]
    usage = by_type[ev.USAGE_RECORDED][0]
    assert usage.data["windows"] == [window] and usage.data["priced"] is True
    released = by_type[ev.ALLOCATION_RELEASED][0].data
    assert released["windows"] == [window] and released["tokens_returned"] == 0
    approaching = by_type[ev.LIMIT_APPROACHING][0].data
    assert approaching["policy_id"] == p.policy_id and approaching["window"] == "2026-11-29"
    assert approaching["threshold"] == "0.5" and approaching["level"] == "warning"
    exceeded = {e.data["reason"]: e.data for e in by_type[ev.LIMIT_EXCEEDED]}
    assert exceeded["denied"]["budget_id"] == b.budget_id
    assert exceeded["denied"]["window"] == "2026-11-29" and exceeded["denied"]["limit"] == "1000"
    assert exceeded["limit_reached"]["policy_id"] == p.policy_id
    unpriced = by_type[ev.UNPRICED_MODEL][0].data
    assert unpriced == {"provider": "acme", "model": "no-such-model"}
    expired = by_type[ev.ALLOCATION_EXPIRED][0]
    assert expired.data["windows"] == [window] and expired.data["status"] == "expired"
    assert all(e.time.tzinfo is not None and e.event_id.startswith("evt_") for e in found)


def test_denials_and_thresholds_are_emitted_once_per_window(svc):
    make_budget(svc, token_limit=100)
    for _ in range(3):
        with pytest.raises(budget.BudgetExceeded):
            svc.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=500)
    assert kinds(svc) == [ev.LIMIT_EXCEEDED]
    for _ in range(3):
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=30)
    assert kinds(svc, types=[ev.LIMIT_APPROACHING]) == [ev.LIMIT_APPROACHING]


def test_price_updates_and_conflicts_are_events(prices):  # noqa: F811
    prices.set_price_override("acme", "event-model", input="1", output="2")
    prices.clear_price_override("acme", "event-model")
    prices.update_prices()
    found = prices.list_events(limit=1000)
    updates = [e.data for e in found if e.type == ev.PRICE_UPDATE]
    assert [u["action"] for u in updates[:2]] == ["override_set", "override_cleared"]
    assert updates[0]["rates"]["input"] == "1" and updates[0]["model"] == "event-model"
    conflicts = [e.data for e in found if e.type == ev.PRICE_CONFLICT]
    assert "deepseek-chat" in {c["model"] for c in conflicts}
    prices.update_prices()
    assert len([e for e in prices.list_events(limit=1000) if e.type == ev.PRICE_CONFLICT]) == len(
        conflicts
    )


def test_a_rolled_back_allocation_emits_nothing(svc, monkeypatch):
    make_budget(svc)
    heard = []
    svc.subscribe(heard.append)
    original = emit_module.allocation_created

    def emit_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("boom after the event was written")

    monkeypatch.setattr(emit_module, "allocation_created", emit_then_fail)
    with pytest.raises(RuntimeError):
        svc.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=10)
    assert svc.flush_subscribers()
    assert svc.list_events() == [] and heard == []
    assert svc.list_allocations().total == 0


def test_a_retried_transaction_emits_its_events_once(svc, monkeypatch):
    make_budget(svc)
    heard = []
    svc.subscribe(heard.append)
    original = emit_module.usage_recorded
    calls = []

    def deadlock_once(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:  # as the database reports a deadlock victim
            raise OperationalError("UPDATE windows …", {}, Deadlock("deadlock detected"))
        return result

    monkeypatch.setattr(emit_module, "usage_recorded", deadlock_once)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10, request_id="r1")
    assert len(calls) == 2  # the work ran twice
    assert svc.flush_subscribers()
    assert kinds(svc) == [ev.USAGE_RECORDED]
    assert [e.type for e in heard] == [ev.USAGE_RECORDED]


def test_subscribers_filter_by_type_and_budget_and_survive_a_failing_one(svc):
    b, _ = make_budget(svc)
    other = svc.create_budget("other")
    svc.add_policy(other.budget_id, type="warn", period="daily", token_limit=10**6)
    everything, usage_only, mine = [], [], []
    svc.subscribe(lambda e: 1 / 0)
    svc.subscribe(everything.append)
    sub = svc.subscribe(usage_only.append, types=[ev.USAGE_RECORDED])
    svc.subscribe(mine.append, budget_id=b.budget_id)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10)
    svc.allocate(context_id="x", provider="openai", model="gpt-4o", tokens=5)
    assert svc.flush_subscribers()
    assert [e.type for e in everything] == [ev.USAGE_RECORDED, ev.ALLOCATION_CREATED]
    assert [e.type for e in usage_only] == [ev.USAGE_RECORDED]
    assert len(mine) == 2 and all(b.budget_id in e.budget_ids for e in mine)
    sub.cancel()
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10)
    assert svc.flush_subscribers()
    assert len(usage_only) == 1 and len(everything) == 3
    with pytest.raises(ValidationError, match="types"):
        svc.subscribe(print, types=["no.such.type"])


def test_list_events_reads_on_after_a_sequence_with_filters(svc):
    b, _ = make_budget(svc)
    for i in range(5):
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=1, request_id=f"r{i}")
    first = svc.list_events(limit=2)
    rest = svc.list_events(after=first[-1].sequence)
    assert [e.sequence for e in first + rest] == [1, 2, 3, 4, 5]
    assert svc.last_event_sequence() == 5
    assert len(svc.list_events(budget_id=b.budget_id)) == 5
    assert svc.list_events(budget_id="bud_nobody") == []
    assert svc.list_events(types=[ev.PRICE_CONFLICT]) == []
    with pytest.raises(ValidationError, match="after"):
        svc.list_events(after=-1)


@pytest.fixture
def loopback_svc(db_url):
    """A service whose webhooks may target loopback addresses."""
    service = budget.open(db_url, pool_size=5, webhook_allow_private=True)
    try:
        yield service
    finally:
        service.close()


def test_webhook_registration_checks_its_input(loopback_svc):
    svc = loopback_svc
    with pytest.raises(ValidationError, match="url"):
        svc.create_webhook("ftp://example.com/x")
    with pytest.raises(ValidationError, match="url"):
        svc.create_webhook("http://127.0.0.1:99999/x")  # no such port
    with pytest.raises(ValidationError, match="events"):
        svc.create_webhook("http://127.0.0.1:9/x", events=["nope"])
    with pytest.raises(NotFound, match="budget_id"):
        svc.create_webhook("http://127.0.0.1:9/x", budget_id="bud_missing")
    hook, secret = svc.create_webhook(
        "http://127.0.0.1:9/x", events=[ev.USAGE_RECORDED], description="ops"
    )
    assert secret.startswith("whsec_") and hook.event_types == (ev.USAGE_RECORDED,)
    assert [h.webhook_id for h in svc.list_webhooks()] == [hook.webhook_id]
    assert svc.set_webhook_active(hook.webhook_id, False).active is False
    svc.delete_webhook(hook.webhook_id)
    with pytest.raises(NotFound, match="webhook_id"):
        svc.get_webhook(hook.webhook_id)
    with pytest.raises(NotFound):
        svc.replay_webhook_deliveries(hook.webhook_id)


def test_open_with_deliver_events_starts_and_close_stops_the_dispatcher(db_url):
    before = {t.name for t in threading.enumerate()}
    service = budget.open(db_url, deliver_events=True, event_dispatch_interval_seconds=0.05)
    assert "budget-dispatcher" in {t.name for t in threading.enumerate()}
    service.close()
    left = {t.name for t in threading.enumerate()} - before
    assert not {n for n in left if n.startswith("budget-")}


def test_events_keep_their_commit_time(svc, pinned_clock):
    make_budget(svc)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=1)
    pinned_clock.advance(hours=1)
    svc.record_usage(provider="openai", model="gpt-4o", input_tokens=1)
    first, second = svc.list_events()
    assert second.time - first.time == timedelta(hours=1)
    assert second.time == pinned_clock.now and second.time.tzinfo is not None
    assert svc.list_usage()[0].recorded_at == second.time


def test_concurrent_writers_get_gap_free_sequences_in_commit_order(db_url):
    services = [budget.open(db_url, pool_size=5) for _ in range(2)]
    try:
        make_budget(services[0], token_limit=10**9, type="warn")
        seen: list[int] = []
        stop = threading.Event()

        def follow() -> None:  # a consumer reading on while writers commit
            last = 0
            while not stop.is_set() or last < 80:
                for e in services[1].list_events(after=last, limit=50):
                    seen.append(e.sequence)
                    last = e.sequence
                time.sleep(0.005)

        def write(svc, n: int) -> None:
            for i in range(20):
                svc.record_usage(provider="openai", model="gpt-4o", input_tokens=1 + i + n)

        reader = threading.Thread(target=follow)
        reader.start()
        writers = [threading.Thread(target=write, args=(services[i % 2], i)) for i in range(4)]
        for w in writers:
            w.start()
        for w in writers:
            w.join(60)
        stop.set()
        reader.join(60)
        assert seen == list(range(1, 81))  # nothing skipped, nothing twice, in order
    finally:
        for s in services:
            s.close()
