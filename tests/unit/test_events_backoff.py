"""Retry delays, event filters and the in-process bus, without a database."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest

from budget.errors import ValidationError
from budget.events.bus import EventBus, check_types
from budget.events.types import EVENT_TYPES, USAGE_RECORDED, Event
from budget.webhooks.backoff import backoff_seconds


def test_backoff_doubles_up_to_the_cap():
    delays = [backoff_seconds(n, 2.0, 60.0, jitter=0) for n in range(1, 8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert backoff_seconds(10_000, 1.0, 3600.0, jitter=0) == 3600.0


def test_backoff_jitter_stays_within_its_share_and_the_cap():
    rng = random.Random(7)
    for attempt in range(1, 12):
        plain = backoff_seconds(attempt, 1.0, 100.0, jitter=0)
        spread = backoff_seconds(attempt, 1.0, 100.0, jitter=0.1, rng=rng)
        assert plain * 0.9 <= spread <= min(plain * 1.1, 100.0)


def test_backoff_refuses_attempt_zero():
    with pytest.raises(ValueError, match="attempt"):
        backoff_seconds(0, 1.0, 10.0)


def event(type_=USAGE_RECORDED, budgets=("bud_a",)) -> Event:
    return Event("evt_1", type_, datetime(2026, 11, 29, tzinfo=UTC), {}, budgets, 1)


def test_events_match_type_and_budget_filters():
    e = event()
    assert e.matches(None, None) and e.matches(frozenset({USAGE_RECORDED}), "bud_a")
    assert not e.matches(frozenset({"allocation.created"}), None)
    assert not e.matches(None, "bud_b")
    assert e.to_dict()["id"] == "evt_1" and e.to_dict()["sequence"] == 1


def test_unknown_event_types_are_named():
    assert check_types(None) is None and check_types([]) is None
    assert check_types(USAGE_RECORDED) == frozenset({USAGE_RECORDED})
    with pytest.raises(ValidationError, match="'nope'"):
        check_types([USAGE_RECORDED, "nope"])
    assert len(EVENT_TYPES) == 11


def test_the_bus_calls_subscribers_off_the_publishing_thread():
    bus = EventBus()
    threads = []
    bus.subscribe(lambda e: threads.append(threading.current_thread().name))
    bus.publish(event())
    assert bus.flush(5)
    assert threads == ["budget-event-subscribers"]
    bus.close()
    assert not any(t.name == "budget-event-subscribers" for t in threading.enumerate())


def test_a_full_bus_drops_the_oldest_instead_of_blocking():
    bus = EventBus(max_queue=2)
    gate = threading.Event()
    seen = []
    bus.subscribe(lambda e: (gate.wait(5), seen.append(e.event_id)))
    for i in range(6):
        bus.publish(Event(f"evt_{i}", USAGE_RECORDED, datetime.now(UTC), {}))
    gate.set()
    assert bus.flush(5) and bus.dropped >= 2
    assert seen[-1] == "evt_5"
    bus.close()
