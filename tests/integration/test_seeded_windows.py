"""A policy added or changed mid-period counts the spend already made.

The invariant, on both backends: every live window's ``used`` counters equal
the ledger's usage inside the window that the policy's scope covers (tags
included): all tokens, and the cost of the priced usage. It is checked
against the ledger itself (rows read back and matched in Python), whenever
the window was created, also while usage is recorded concurrently.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

import budget
from budget.domain.models import Policy
from budget.server.app import create_app
from budget.storage import tables as t
from budget.storage.mapping import row_to_attributes, row_to_policy

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import _workers  # noqa: E402
from test_concurrency import run_processes  # noqa: E402

MINI = {"provider": "openai", "model": "gpt-4o-mini"}  # $0.15 / $0.60 per million


def ledger_in(url: str, policy: Policy, starts_at, ends_at, key: str) -> tuple[int, int]:
    """(tokens, nano-USD) of the ledger rows in [starts_at, ends_at) the policy
    covers (of the window's session or task, for those)."""
    kind, _, value = key.partition(":")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.usage_records)).all()
    engine.dispose()
    tokens = nanos = 0
    for row in rows:
        at = (
            row.occurred_at.replace(tzinfo=UTC)
            if row.occurred_at.tzinfo is None
            else row.occurred_at
        )
        if starts_at is not None and at < starts_at.astimezone(UTC):
            continue
        if ends_at is not None and at >= ends_at.astimezone(UTC):
            continue
        if policy.starts_at is not None and at < policy.starts_at:
            continue
        if not policy.count_existing and at < policy.created_at:
            continue
        if kind == "session" and row.session_id != value:
            continue
        if kind == "task" and row.task_id != value:
            continue
        if policy.scope.matches(row_to_attributes(row)):
            tokens += row.total_tokens
            nanos += row.cost_nanos or 0
    return tokens, nanos


def assert_windows_match_the_ledger(url: str) -> int:
    """Every live window's used counters equal the ledger in its scope; how many."""
    engine = create_engine(url)
    with engine.connect() as conn:
        policies = {r.id: row_to_policy(r) for r in conn.execute(select(t.policies)).all()}
        windows = conn.execute(select(t.windows).where(t.windows.c.superseded_at.is_(None))).all()
    engine.dispose()
    for w in windows:
        policy = policies[w.policy_id]
        expected = ledger_in(url, policy, w.starts_at, w.ends_at, w.window_key)
        assert (w.used_tokens, w.used_nanos) == expected, (policy.scope, w.window_key)
    return len(windows)


def test_a_cap_added_after_spend_counts_that_spend(svc, db_url):
    team = svc.create_budget(name="team")
    for _ in range(3):  # 3 x (1M input at $0.15 + 1M output at $0.60) = $2.25
        svc.record_usage(**MINI, input_tokens=1_000_000, output_tokens=1_000_000, project="alpha")
    svc.record_usage(**MINI, input_tokens=5_000_000, project="beta")  # outside the scope
    cap = svc.add_policy(
        team.budget_id, type="hard_limit", period="monthly", cost_limit="2.30", project="alpha"
    )
    (window,) = svc.summary(team.budget_id).windows
    assert window.cost_used == Decimal("2.25") and window.tokens_used == 6_000_000
    with pytest.raises(budget.BudgetExceeded) as denied:
        svc.allocate(context_id="c", **MINI, input_tokens=1000, max_output_tokens=100_000,
                     project="alpha")  # fmt: skip
    assert denied.value.used == Decimal("2.25") and denied.value.policy_id == cap.policy_id
    assert svc.check(context_id="c", **MINI, input_tokens=1000, project="alpha").allowed
    assert assert_windows_match_the_ledger(db_url) == 1


def test_count_existing_false_starts_from_now(svc, db_url, pinned_clock):
    team = svc.create_budget(name="team")
    svc.record_usage(**MINI, input_tokens=1000)
    pinned_clock.advance(minutes=5)
    policy = svc.add_policy(
        team.budget_id, type="warn", period="daily", token_limit=10_000, count_existing=False
    )
    assert policy.count_existing is False
    pinned_clock.advance(minutes=5)
    svc.record_usage(**MINI, input_tokens=300)
    (window,) = svc.summary(team.budget_id).windows
    assert window.tokens_used == 300
    assert assert_windows_match_the_ledger(db_url) == 1


def test_changing_the_scope_starts_a_fresh_window_from_the_ledger(svc, db_url):
    team = svc.create_budget(name="team")
    policy = svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", token_limit=10_000, user="ann"
    )
    held = svc.allocate(context_id="c", tokens=1000, user="ann")
    svc.record_usage(**MINI, input_tokens=700, user="ann")
    svc.record_usage(**MINI, input_tokens=400, user="bob", tags=["eu"])
    svc.record_usage(**MINI, input_tokens=200, user="cy", tags=["eu"])
    svc.update_policy(policy.policy_id, user=None, tags=["eu"])
    (window,) = svc.summary(team.budget_id).windows
    assert window.tokens_used == 600 and window.tokens_reserved == 0
    # the reservation made under the old scope stays on the retired window
    assert svc.release(held.allocation_id).status.value == "released"
    svc.record_usage(**MINI, input_tokens=50, user="bob", tags=["eu", "x"])
    assert svc.summary(team.budget_id).windows[0].tokens_used == 650
    assert assert_windows_match_the_ledger(db_url) == 1
    svc.disable_policy(policy.policy_id)
    svc.record_usage(**MINI, input_tokens=5, user="bob", tags=["eu"])  # not counted: disabled
    svc.enable_policy(policy.policy_id)  # back: a fresh window counts it all
    assert svc.summary(team.budget_id).windows[0].tokens_used == 655
    svc.allocate(context_id="c", tokens=1, tags=["eu"])  # creates that window
    assert assert_windows_match_the_ledger(db_url) == 1


def test_per_session_windows_count_the_session_so_far(svc, db_url):
    team = svc.create_budget(name="team")
    svc.record_usage(**MINI, input_tokens=900, session_id="s1")
    svc.record_usage(**MINI, input_tokens=50, session_id="s2")
    svc.add_policy(team.budget_id, type="hard_limit", period="per_session", token_limit=1000)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="c", session_id="s1", tokens=200)
    svc.allocate(context_id="c", session_id="s2", tokens=200)
    assert assert_windows_match_the_ledger(db_url) == 2


def test_rest_and_cli_faces_take_the_flag(svc, db_url, tmp_path):
    team = svc.create_budget(name="team")
    svc.record_usage(**MINI, input_tokens=1000)
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        made = client.post(
            f"/api/v1/budgets/{team.budget_id}/policies",
            json={"type": "warn", "period": "daily", "token_limit": 5000},
        ).json()
        assert made["count_existing"] is True
        summary = client.get(f"/api/v1/budgets/{team.budget_id}/summary").json()
        assert summary["windows"][0]["tokens_used"] == 1000
        fresh = client.post(
            f"/api/v1/budgets/{team.budget_id}/policies",
            json={"type": "warn", "period": "weekly", "token_limit": 5000, "count_existing": False},
        ).json()
        assert fresh["count_existing"] is False
    from typer.testing import CliRunner

    from budget.cli.app import app

    run = CliRunner().invoke(
        app,
        ["policies", "add", team.budget_id, "--type", "warn", "--period", "monthly",
         "--token-limit", "9", "--no-count-existing", "--json", "--database-url", db_url],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert '"count_existing": false' in run.stdout


WHEN = st.integers(min_value=0, max_value=47)  # hours into a two-day stretch
USAGE = st.tuples(
    st.sampled_from(_workers.SEED_ATTRIBUTES),
    st.sampled_from(["gpt-4o-mini", "unpriced-model-x"]),
    st.integers(1, 5000),
    WHEN,
)
SCOPES = st.fixed_dictionaries(
    {},
    optional={
        "project": st.sampled_from(["alpha", "beta"]),
        "user": st.sampled_from(["ann", "bob"]),
        "tags": st.sampled_from([["batch"], ["eu"], ["batch", "eu"]]),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    before=st.lists(USAGE, max_size=12),
    after=st.lists(USAGE, max_size=8),
    scope=SCOPES,
    period=st.sampled_from(["hourly", "daily", "weekly", "total"]),
    timezone=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
    added_at=WHEN,
)
def test_windows_created_at_any_moment_equal_the_ledger(
    db_url, before, after, scope, period, timezone, added_at
):
    from conftest import reset_postgres

    from budget import clock

    if db_url.startswith("postgresql"):
        reset_postgres(db_url)
    start = datetime(2026, 11, 28, tzinfo=UTC)
    now = [start + timedelta(hours=added_at, minutes=17)]
    clock.set_clock(lambda: now[0])
    svc = budget.open(db_url)
    try:
        if db_url.startswith("sqlite"):
            with svc._ctx.db.write() as conn:  # each example from an empty ledger
                for table in ("windows", "allocation_windows", "usage_rollups", "usage_records",
                              "policies", "budgets", "events", "alerts"):  # fmt: skip
                    conn.execute(t.Base.metadata.tables[table].delete())
        for attrs, model, tokens, hour in before:
            svc.record_usage(provider="openai", model=model, input_tokens=tokens,
                             occurred_at=start + timedelta(hours=hour), **attrs)  # fmt: skip
        team = svc.create_budget(name="team")
        svc.add_policy(team.budget_id, type="warn", period=period, timezone=timezone,
                       token_limit=10**9, **scope)  # fmt: skip
        for attrs, model, tokens, hour in after:
            now[0] = start + timedelta(hours=hour, minutes=17)
            svc.record_usage(provider="openai", model=model, input_tokens=tokens, **attrs)
        svc.summary(team.budget_id)
        assert_windows_match_the_ledger(db_url)
    finally:
        svc.close()
        clock.set_clock(None)


@pytest.mark.slow
def test_policies_added_while_usage_is_recorded_count_every_record(db_url):
    svc = budget.open(settings=budget.Settings(database_url=db_url, pool_size=12))
    team = svc.create_budget(name="team")
    stop = threading.Event()
    scopes = [
        {"project": "alpha"},
        {"user": "bob"},
        {"tags": ["batch"]},
        {"project": "beta", "tags": ["eu"]},
        {},
    ]
    added = []

    def add_policies() -> None:
        engine = create_engine(db_url)
        with engine.connect() as conn:  # start once usage is flowing
            while not stop.is_set() and not conn.execute(select(t.usage_records.c.id)).first():
                conn.rollback()
                stop.wait(0.02)
        engine.dispose()
        for scope in scopes:
            if stop.wait(0.1):
                return
            added.append(
                svc.add_policy(
                    team.budget_id, type="warn", period="daily", token_limit=10**12, **scope
                )
            )

    adder = threading.Thread(target=add_policies)
    adder.start()
    try:
        results = run_processes(_workers.record_worker, 2, db_url, 4, 150, 7)
    finally:
        stop.set()
        adder.join()
    assert sum(r["records"] for r in results) == 2 * 4 * 150
    svc.close()
    # every policy was added while records were flowing, and its window was
    # created by a record racing the others (or by the policy's first use)
    assert len(added) == len(scopes)
    assert assert_windows_match_the_ledger(db_url) == len(added)


def test_a_writer_that_planned_before_the_policy_existed_still_counts(db_url):
    """Another process adds the policy after this one planned with its cached
    policies: the write sees the new version after its ledger insert, restarts
    and counts on the new window (which started from the ledger before it)."""
    writer = budget.open(db_url)
    admin = budget.open(db_url)
    try:
        writer.record_usage(**MINI, input_tokens=100, project="alpha")  # caches "no policies"
        team = admin.create_budget(name="team")
        admin.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**6,
                         project="alpha")  # fmt: skip
        admin.allocate(context_id="c", tokens=1, project="alpha")  # creates the window: 100
        writer.record_usage(**MINI, input_tokens=40, project="alpha")  # planned without it
        assert admin.summary(team.budget_id).windows[0].tokens_used == 140
        assert assert_windows_match_the_ledger(db_url) == 1
    finally:
        writer.close()
        admin.close()
