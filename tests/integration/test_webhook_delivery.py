"""Webhook delivery on both backends, to real HTTP receivers on loopback: signed,
filtered, retried with backoff, dead after N tries and replayable; two
dispatchers on one database deliver each event once; a hanging or refusing
receiver holds up neither the others nor allocate and record."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from webhook_receiver import Receiver, refusing_url

import budget
from budget.events import types as ev
from budget.webhooks.signing import verify_signature

FAST = {
    "webhook_max_attempts": 3,
    "webhook_backoff_seconds": 0.01,
    "webhook_backoff_max_seconds": 0.05,
    "webhook_timeout_seconds": 0.5,
    "event_dispatch_interval_seconds": 0.02,
    "pool_size": 5,
    "webhook_allow_private": True,  # the receivers listen on loopback
}


@pytest.fixture
def service(db_url) -> Iterator[budget.BudgetService]:
    svc = budget.open(db_url, **FAST)
    try:
        yield svc
    finally:
        svc.close()


def spend(svc, budget_name="team", n=1) -> str:
    b = svc.create_budget(budget_name)
    svc.add_policy(b.budget_id, type="warn", period="daily", token_limit=10**9)
    for _ in range(n):
        svc.record_usage(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5)
    return b.budget_id


def deliver_until(svc, done, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc.deliver_events_now()
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("deliveries did not settle")


def test_deliveries_are_signed_and_follow_each_webhooks_filters(service):
    with Receiver() as everything, Receiver() as usage_of_b:
        _, secret_all = service.create_webhook(everything.url)
        hook_b, secret_b = service.create_webhook(
            usage_of_b.url, events=[ev.USAGE_RECORDED], budget_id=None
        )
        spend(service, "a", n=2)
        service.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=10)
        assert service.deliver_events_now() == 3 + 2
        got = everything.wait_for(3)
        assert [r.event["type"] for r in got] == [ev.USAGE_RECORDED] * 2 + [ev.ALLOCATION_CREATED]
        assert [r.event["sequence"] for r in got] == [1, 2, 3]
        for r in got:
            assert verify_signature(secret_all, r.body, r.headers["Budget-Signature"])
            assert not verify_signature(secret_b, r.body, r.headers["Budget-Signature"])
            assert r.headers["Budget-Event-Id"] == r.event["id"]
            assert r.headers["Budget-Event-Type"] == r.event["type"]
        assert [r.event["type"] for r in usage_of_b.wait_for(2)] == [ev.USAGE_RECORDED] * 2
        listed = service.list_webhook_deliveries(hook_b.webhook_id)
        assert listed.total == 2 and {d.status for d in listed} == {"delivered"}
        assert service.deliver_events_now() == 0  # nothing twice


def test_a_budget_filter_only_sends_that_budgets_events(service):
    with Receiver() as receiver:
        b = service.create_budget("mine")
        service.add_policy(b.budget_id, type="warn", period="daily", token_limit=10**9, model="x")
        service.create_webhook(receiver.url, budget_id=b.budget_id)
        spend(service, "others", n=1)  # covers every model, not only x
        service.record_usage(provider="openai", model="x", input_tokens=1)
        deliver_until(service, lambda: len(receiver.received) >= 1)
        time.sleep(0.05)
        service.deliver_events_now()
        assert [e["data"]["model"] for e in receiver.events()] == ["x"]


def test_a_failing_receiver_gets_retries_then_dead_then_replayed(service):
    with Receiver("fail") as receiver:
        hook, _ = service.create_webhook(receiver.url)
        spend(service)

        def dead() -> bool:
            return service.list_webhook_deliveries(hook.webhook_id, status="dead").total == 1

        deliver_until(service, dead)
        [delivery] = service.list_webhook_deliveries(hook.webhook_id)
        assert delivery.attempts == 3 and receiver.attempts == 3
        assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500 nope"
        assert delivery.next_attempt_at is None and delivery.delivered_at is None

        receiver.mode = "ok"
        assert service.replay_webhook_deliveries(hook.webhook_id) == 1
        deliver_until(service, lambda: len(receiver.received) == 1)
        [delivery] = service.list_webhook_deliveries(hook.webhook_id)
        assert delivery.status == "delivered" and delivery.attempts == 1
        assert receiver.events()[0]["id"] == delivery.event_id
        assert service.replay_webhook_deliveries(hook.webhook_id, since_sequence=1) == 1
        deliver_until(service, lambda: len(receiver.received) == 2)  # the receiver dedupes


def test_two_dispatchers_on_one_database_deliver_each_event_once(service, db_url):
    other = budget.open(db_url, **FAST)
    try:
        with Receiver() as receiver:
            service.create_webhook(receiver.url)
            spend(service, n=40)
            barrier = threading.Barrier(2)

            def run(svc) -> None:
                barrier.wait()
                for _ in range(15):
                    svc.deliver_events_now()

            threads = [threading.Thread(target=run, args=(s,)) for s in (service, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            counts = Counter(r.event["id"] for r in receiver.wait_for(40))
            assert len(counts) == 40 and set(counts.values()) == {1}
    finally:
        other.close()


def test_dead_and_hanging_receivers_hold_up_neither_others_nor_spending(service):
    with Receiver("hang") as hanging, Receiver() as healthy:
        service.create_webhook(hanging.url)
        service.create_webhook(refusing_url())
        hook, _ = service.create_webhook(healthy.url)
        service.start_event_delivery()
        b = spend(service)
        started = time.monotonic()
        for _ in range(20):
            a = service.allocate(context_id="c", provider="openai", model="gpt-4o", tokens=10)
            service.record_usage(allocation_id=a.allocation_id, input_tokens=5)
        assert time.monotonic() - started < 5
        healthy.wait_for(41, timeout=10)  # long before the hanging one times out twice
        assert service.get_webhook(hook.webhook_id).budget_id is None and b


def test_a_refusing_receiver_is_not_hammered(service):
    hook, _ = service.create_webhook(refusing_url())
    spend(service, n=10)
    for _ in range(3):
        service.deliver_events_now()
    tried = [d for d in service.list_webhook_deliveries(hook.webhook_id) if d.attempts]
    assert 1 <= len(tried) <= 3 and all("Connection" in (d.last_error or "") for d in tried)
