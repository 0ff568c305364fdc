"""The write path's decisions with fake repositories (no database): the SQL
lives in ``budget.storage``, so what the engine decides can be tested alone."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from budget.domain.enums import AlertKind, AllocationStatus, Period, PolicyType
from budget.domain.models import Policy, RequestAttributes, ScopeFilter, WindowCounters
from budget.domain.periods import WindowSpan
from budget.engine import alerts, alerts_bulk, allocate, context, expiry, new_windows, reserve
from budget.engine.context import EngineContext, HeldCache, StaleCache
from budget.engine.windows import Target
from budget.errors import ValidationError
from budget.storage.alerts import ANY_BUDGET, AlertFilter

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def policy(kind: PolicyType = PolicyType.HARD_LIMIT, **fields) -> Policy:
    values = dict(
        policy_id="pol_1",
        budget_id="bud_1",
        name="daily",
        type=kind,
        period=Period.DAILY,
        timezone="UTC",
        scope=ScopeFilter(),
        token_limit=1000,
        cost_limit_nanos=None,
        warning_thresholds=(Decimal("0.5"),),
        action_threshold=None,
        critical_headroom=Decimal(0),
        starts_at=None,
        ends_at=None,
        enabled=True,
        created_at=NOW,
        updated_at=NOW,
    )
    return Policy(**(values | fields))


SPAN = WindowSpan("2026-12-03", NOW.replace(hour=0), NOW.replace(hour=0) + timedelta(days=1))


class Recorder:
    """A fake repository: records every call, answers from ``answers``."""

    def __init__(self, **answers) -> None:
        self.calls: list[tuple] = []
        self._answers = answers

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            self.calls.append((name, *args, *kwargs.values()))
            answer = self._answers.get(name)
            return answer(*args, **kwargs) if callable(answer) else answer

        return call


def test_thresholds_raise_one_alert_per_level_crossed(monkeypatch):
    """Usage from 400 to 600 of 1000 tokens crosses the 50% warning only."""
    tx = SimpleNamespace(alerts=Recorder(insert_once=True))
    crossed = []
    monkeypatch.setattr(alerts.events, "threshold_crossed", lambda *a: crossed.append(a))
    after = WindowCounters(used_tokens=600)
    alerts.check_thresholds(tx, Target(policy(), SPAN, 7), after, 200, 0, NOW)
    [(name, fields)] = tx.alerts.calls
    assert name == "insert_once"
    assert fields["kind"] == AlertKind.THRESHOLD_CROSSED.value
    assert fields["dedup_key"] == "threshold_crossed:pol_1:2026-12-03:0.5"
    assert len(crossed) == 1


def test_an_alert_already_raised_emits_no_event(monkeypatch):
    tx = SimpleNamespace(alerts=Recorder(insert_once=False))
    monkeypatch.setattr(alerts.events, "threshold_crossed", lambda *a: pytest.fail("emitted"))
    alerts.check_thresholds(
        tx, Target(policy(), SPAN, 7), WindowCounters(used_tokens=1000), 1000, 0, NOW
    )
    assert [c[0] for c in tx.alerts.calls] == ["insert_once", "insert_once"]  # 50%, limit


def fake_db(tx):
    @contextmanager
    def unit():
        yield tx

    return SimpleNamespace(write=unit, read=unit, run_write=lambda work: work(tx))


def test_acknowledging_everything_needs_all():
    tx = SimpleNamespace(alerts=Recorder(acknowledge=3))
    ctx = SimpleNamespace(db=fake_db(tx))
    with pytest.raises(ValidationError):
        alerts_bulk.acknowledge_alerts(ctx, "ops")
    assert alerts_bulk.acknowledge_alerts(ctx, "ops", all=True) == 3
    assert alerts_bulk.acknowledge_alerts(ctx, "ops", budget_id="bud_1") == 3
    selected = [c[1] for c in tx.alerts.calls]
    assert selected == [AlertFilter(), AlertFilter(budget_id="bud_1")]
    assert selected[0].budget_id is ANY_BUDGET


def test_closing_returns_what_an_allocation_still_holds(monkeypatch):
    closed = []
    monkeypatch.setattr(expiry.events, "allocation_closed", lambda *a: closed.append(a))
    tx = SimpleNamespace(
        allocations=Recorder(window_ids=[3, 5]), windows=Recorder(), alerts=Recorder()
    )
    row = SimpleNamespace(id="alc_1", status="active", tokens_remaining=40, nanos_remaining=9)
    assert expiry.close_allocation(tx, row, AllocationStatus.EXPIRED, NOW)
    assert tx.windows.calls == [("lock_rows", [3, 5]), ("return_reserved", [3, 5], 40, 9)]
    assert ("close_as", "alc_1", AllocationStatus.EXPIRED, NOW) in tx.allocations.calls
    assert len(closed) == 1
    done = SimpleNamespace(**{**vars(row), "status": "released"})
    assert not expiry.close_allocation(tx, done, AllocationStatus.EXPIRED, NOW)


def test_a_new_window_starts_from_the_ledger(monkeypatch):
    monkeypatch.setattr(new_windows, "seeded", lambda tx, p, s: WindowCounters(used_tokens=70))
    tx = SimpleNamespace(windows=Recorder(find=None, insert=11), ledger=Recorder())
    assert new_windows.create_window(tx, policy(), SPAN, NOW) == 11
    assert tx.ledger.calls == [("hold_writes",)]
    assert tx.windows.calls[-1] == ("insert", policy(), SPAN, WindowCounters(used_tokens=70), NOW)
    found = SimpleNamespace(windows=Recorder(find=4), ledger=Recorder())
    assert new_windows.create_window(found, policy(), SPAN, NOW) == 4
    assert found.ledger.calls == []


def test_the_cache_reloads_only_when_a_version_moves():
    ctx = EngineContext(db=None, settings=None)
    meta = Recorder(
        versions={context.POLICIES: 2, context.PRICES: 1},
        policies_in_force=(policy(),),
        current_prices=[],
    )
    tx = SimpleNamespace(meta=meta)
    ctx.refresh(tx)
    ctx.refresh(tx)
    assert [c[0] for c in meta.calls] == [
        "versions",
        "policies_in_force",
        "current_prices",
        "versions",
    ]
    assert ctx.versions() == (2, 1) and ctx.policy("pol_1") == policy()
    with pytest.raises(StaleCache):
        ctx.check_versions({context.POLICIES: 3, context.PRICES: 1}, ctx.versions())


def test_advice_is_looked_for_outside_the_reservation(monkeypatch):
    """A soft limit passed without advice: the reservation rolls back, the
    advice is looked for, and the reservation runs again with it."""
    attempts, advised = [], []
    granted = SimpleNamespace(
        allocation_id="alc_1",
        context_id="c",
        attributes=RequestAttributes(provider="openai", model="gpt-4o"),
        expires_at=NOW,
    )

    def fake_reserve(ctx, request, now, advice):
        attempts.append(advice)
        if advice is reserve.NOT_ASKED:
            raise reserve.NeedsAdvice()
        return granted, []

    def fake_suggest(ctx, attrs, at):
        advised.append(attrs)
        return "gpt-4o-mini"

    monkeypatch.setattr(allocate, "reserve", fake_reserve)
    monkeypatch.setattr(allocate, "suggest_cheaper", fake_suggest)
    ctx = SimpleNamespace(held=HeldCache())
    request = SimpleNamespace(attributes=granted.attributes)
    assert allocate.allocate(ctx, request) is granted
    assert attempts == [reserve.NOT_ASKED, "gpt-4o-mini"]
    assert advised == [granted.attributes]


def test_soft_windows_over_their_limit_are_remembered():
    ctx = SimpleNamespace(over_soft=set())
    keys = {("pol_1", "2026-12-03")}
    reserve._remember(ctx, keys, over=True)
    assert ctx.over_soft == keys
    reserve._remember(ctx, keys, over=False)
    assert ctx.over_soft == set()
