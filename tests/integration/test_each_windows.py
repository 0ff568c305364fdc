"""One policy, a window per user (``each``): limits per subject, seeded from
the ledger, refused without the attribute, shown in summaries and history;
library, REST, CLI and MCP on both backends."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

import budget
from budget.cli.app import app as cli_app
from budget.server.app import create_app

V1 = "/api/v1"
CALL = {"provider": "openai", "model": "gpt-4o-mini"}


def _per_user(svc, limit=100, **more):
    team = svc.create_budget(name="team")
    policy = svc.add_policy(
        team.budget_id, type="hard_limit", period="daily", token_limit=limit, each=["user"], **more
    )
    return team, policy


def test_every_user_gets_the_limit_and_one_users_spend_never_blocks_another(svc, pinned_clock):
    _team, policy = _per_user(svc)
    assert policy.each == ("user",)
    for _ in range(3):
        svc.allocate(context_id="a", tokens=30, user="alice", **CALL)
    with pytest.raises(budget.BudgetExceeded) as denied:
        svc.allocate(context_id="a", tokens=30, user="alice", **CALL)
    assert denied.value.window_key.endswith('|{"user":"alice"}')
    assert "alice" in str(denied.value)
    for _ in range(3):  # bob's window is his own
        svc.allocate(context_id="b", tokens=30, user="bob", **CALL)
    assert svc.check(context_id="c", tokens=30, user="carol", **CALL).allowed


def test_a_hard_each_policy_refuses_a_request_that_does_not_name_the_attribute(svc):
    team, policy = _per_user(svc)
    for attempt in (svc.allocate, svc.check):
        with pytest.raises(budget.ValidationError) as refused:
            attempt(context_id="x", tokens=1, **CALL)
        assert refused.value.field == "user"
        assert policy.policy_id in str(refused.value)
    # usage that already happened is recorded; it has no user, so no user's window counts it
    svc.record_usage(input_tokens=500, **CALL)
    assert svc.allocate(context_id="a", tokens=100, user="alice", **CALL).tokens_reserved == 100
    # a soft policy per user does not refuse: a request without a user is outside it
    svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=5, each=["project"])
    svc.allocate(context_id="b", tokens=10, user="bob", **CALL)


def test_a_users_window_starts_from_that_users_spend_already_in_the_ledger(svc, pinned_clock):
    svc.record_usage(input_tokens=60, user="alice", **CALL)
    svc.record_usage(input_tokens=90, user="bob", **CALL)
    svc.record_usage(input_tokens=10, user="alice", project="p", **CALL)
    _team, _ = _per_user(svc)
    with pytest.raises(budget.BudgetExceeded) as denied:
        svc.allocate(context_id="a", tokens=31, user="alice", **CALL)
    assert denied.value.used == 70
    svc.allocate(context_id="a", tokens=30, user="alice", **CALL)
    svc.allocate(context_id="b", tokens=10, user="bob", **CALL)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="b", tokens=1, user="bob", **CALL)


def test_two_attributes_make_a_window_per_pair(svc):
    team = svc.create_budget(name="team")
    svc.add_policy(
        team.budget_id, type="hard_limit", period="total", token_limit=10, each=["user", "project"]
    )
    svc.allocate(context_id="a", tokens=10, user="alice", project="p1", **CALL)
    svc.allocate(context_id="a", tokens=10, user="alice", project="p2", **CALL)
    with pytest.raises(budget.BudgetExceeded):
        svc.allocate(context_id="a", tokens=1, user="alice", project="p1", **CALL)
    with pytest.raises(budget.ValidationError) as refused:
        svc.allocate(context_id="a", tokens=1, user="alice", **CALL)
    assert refused.value.field == "project"
    # values that would read the same when joined naively stay apart
    svc.allocate(context_id="a", tokens=10, user='a","project":"b', project="c", **CALL)
    svc.allocate(context_id="a", tokens=10, user="a", project='b","project":"c', **CALL)


def test_windows_equal_each_users_ledger_sum(svc, db_url):
    _team, policy = _per_user(svc, limit=10**6)
    for i in range(40):
        user = f"u{i % 7}"
        if i % 3:
            with svc.spend(context_id=f"c{i}", tokens=50, user=user, **CALL) as call:
                call.record(input_tokens=20 + i, output_tokens=i)
        else:
            svc.record_usage(input_tokens=5 * i, user=user, **CALL)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ledger = dict(
            conn.execute(
                text("SELECT user_id, SUM(total_tokens) FROM usage_records GROUP BY user_id")
            ).all()
        )
        windows = conn.execute(
            text("SELECT subject, used_tokens, reserved_tokens FROM windows WHERE policy_id = :p"),
            {"p": policy.policy_id},
        ).all()
    engine.dispose()
    counted = {}
    for subject, used, reserved in windows:
        subject = subject if isinstance(subject, dict) else json.loads(subject)
        counted[subject["user"]] = used
        assert reserved == 0
    assert counted == {user: int(total) for user, total in ledger.items()}


def test_the_summary_shows_the_fullest_windows_and_filters_by_value(svc, pinned_clock):
    team, _policy = _per_user(svc)
    for user, tokens in [("a", 10), ("b", 90), ("c", 50), ("d", 70)]:
        svc.allocate(context_id=user, tokens=tokens, user=user, **CALL)
    windows = svc.summary(team.budget_id, top=3).windows
    assert [w.subject for w in windows] == [{"user": "b"}, {"user": "d"}, {"user": "c"}]
    assert {w.subject_windows for w in windows} == {4}
    (only,) = svc.summary(team.budget_id, subject={"user": "a"}).windows
    assert only.subject == {"user": "a"} and only.tokens_reserved == 10
    # a user without a window yet shows what theirs would start with
    svc.record_usage(input_tokens=40, user="e", **CALL)
    (fresh,) = svc.summary(team.budget_id, subject=["user=e"]).windows
    assert fresh.tokens_used == 40 and fresh.tokens_remaining == 60
    with pytest.raises(budget.ValidationError) as bad:
        svc.summary(team.budget_id, subject=["user"])
    assert bad.value.field == "subject"
    empty = svc.create_budget(name="quiet")
    svc.add_policy(empty.budget_id, type="warn", period="daily", token_limit=5, each=["user"])
    (placeholder,) = svc.summary(empty.budget_id).windows
    assert placeholder.subject == {} and placeholder.subject_windows == 0


def test_history_and_a_change_of_each_start_fresh_windows(svc, pinned_clock):
    team, policy = _per_user(svc)
    svc.allocate(context_id="a", tokens=30, user="alice", **CALL)
    svc.allocate(context_id="b", tokens=20, user="bob", **CALL)
    pinned_clock.advance(days=1)
    svc.allocate(context_id="a", tokens=10, user="alice", **CALL)
    history = svc.window_history(policy.policy_id, subject={"user": "alice"})
    assert [w.subject for w in history] == [{"user": "alice"}] * 2
    assert len(svc.window_history(policy.policy_id)) == 3
    # one window for the whole team from now on, counting today's usage
    svc.record_usage(input_tokens=15, user="carol", **CALL)
    changed = svc.update_policy(policy.policy_id, each=None)
    assert changed.each == ()
    (window,) = svc.summary(team.budget_id).windows
    assert window.subject is None and window.tokens_used == 15


@pytest.mark.parametrize(
    ("each", "value"),
    [(["tags"], "tags"), (["nobody"], "nobody"), (["user", "user"], ["user", "user"]), (5, 5)],
)
def test_each_names_scope_attributes_once(svc, each, value):
    team = svc.create_budget(name="team")
    with pytest.raises(budget.ValidationError) as bad:
        svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=1, each=each)
    assert bad.value.field == "each" and bad.value.value == value


def test_each_over_rest_and_the_cli(svc, db_url, pinned_clock):
    team = svc.create_budget(name="team")
    with TestClient(create_app(svc), base_url="http://127.0.0.1") as client:
        made = client.post(
            f"{V1}/budgets/{team.budget_id}/policies",
            json={"type": "hard_limit", "period": "daily", "token_limit": 50, "each": ["user"]},
        )
        assert made.status_code == 201 and made.json()["each"] == ["user"]
        policy_id = made.json()["policy_id"]
        bad = client.post(
            f"{V1}/budgets/{team.budget_id}/policies",
            json={"type": "warn", "period": "daily", "token_limit": 5, "each": ["tags"]},
        )
        assert bad.status_code == 422 and "each" in bad.text
        body = {"context_id": "c", "tokens": 40, **CALL}
        for user in ("alice", "bob"):
            assert client.post(f"{V1}/allocations", json={**body, "user": user}).status_code == 201
        assert client.post(f"{V1}/allocations", json={**body, "user": "alice"}).status_code == 429
        missing = client.post(f"{V1}/allocations", json=body)
        assert missing.status_code == 422 and missing.json()["field"] == "user"
        summary = client.get(f"{V1}/budgets/{team.budget_id}/summary?top=1").json()
        assert [w["subject"] for w in summary["windows"]] == [{"user": "alice"}]
        assert summary["windows"][0]["subject_windows"] == 2
        only = client.get(f"{V1}/budgets/{team.budget_id}/summary?subject=user=bob").json()
        assert [w["subject"] for w in only["windows"]] == [{"user": "bob"}]
        history = client.get(f"{V1}/policies/{policy_id}/history?subject=user=bob").json()
        assert [w["subject"] for w in history] == [{"user": "bob"}]
        wrong = client.get(f"{V1}/budgets/{team.budget_id}/summary?subject=bob")
        assert wrong.status_code == 422 and wrong.json()["field"] == "subject"
    runner = CliRunner()
    added = runner.invoke(
        cli_app,
        ["policies", "add", "team", "--type", "warn", "--period", "daily", "--token-limit",
         "1000", "--each", "project", "--json", "--database-url", db_url],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert '"each": [\n    "project"\n  ]' in added.stdout
    shown = runner.invoke(
        cli_app,
        ["budgets", "summary", "team", "--subject", "user=alice", "--database-url", db_url],
        env={"COLUMNS": "200"},
    )
    assert shown.exit_code == 0, shown.output
    assert "user=alice" in shown.stdout and "bob" not in shown.stdout
    history = runner.invoke(
        cli_app,
        ["policies", "history", policy_id, "--subject", "user=bob", "--json",
         "--database-url", db_url],
    )  # fmt: skip
    assert history.exit_code == 0 and '"user": "bob"' in history.stdout


def test_processes_of_threads_hold_every_users_limit_exactly(db_url):
    """1,000 distinct users, 8 threads: each user's window grants exactly what fits."""
    svc = budget.open(db_url)
    try:
        team = svc.create_budget(name="per-user")
        svc.add_policy(
            team.budget_id, type="hard_limit", period="daily", token_limit=100, each=["user"]
        )
        users = [f"user-{i:04d}" for i in range(1000)]
        attempts = [u for u in users for _ in range(4)]  # 4 x 30 tokens: 3 fit in 100
        granted: Counter[str] = Counter()
        lock = threading.Lock()

        def ask(user: str) -> None:
            try:
                svc.allocate(context_id=user, tokens=30, user=user, **CALL)
            except budget.BudgetExceeded:
                return
            with lock:
                granted[user] += 1

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(ask, attempts[::2] + attempts[1::2]))
        assert set(granted.values()) == {3} and len(granted) == 1000
        windows = svc.summary(team.budget_id, top=1000).windows
        assert len(windows) == 1000
        assert all(w.tokens_reserved == 90 and w.subject_windows == 1000 for w in windows)
    finally:
        svc.close()


def test_a_per_user_limit_is_not_forecast_from_every_users_spend(svc):
    team, _ = _per_user(svc, limit=1000)
    for user in ("a", "b", "c", "d"):
        svc.record_usage(input_tokens=400, user=user, **CALL)
    assert svc.forecast(budget_id=team.budget_id) == []
    assert not svc.list_alerts(kind="forecast_exceeds")
