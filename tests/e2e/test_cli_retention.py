"""``budget prune`` and ``budget alerts ack`` in bulk, through the CLI, on a local
database and against a real ``budget serve`` process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import budget
from budget import clock


def seed_old_rows(database_url: str) -> None:
    """Half a year ago: a released allocation, usage and their events."""
    then = datetime.now(UTC) - timedelta(days=200)
    clock.set_clock(lambda: then)
    try:
        with budget.open(database_url) as svc:
            team = svc.create_budget("team")
            svc.add_policy(team.budget_id, type="warn", period="daily", token_limit=10**9)
            held = svc.allocate(context_id="old", provider="openai", model="gpt-4o", tokens=10)
            svc.release(held.allocation_id)
            for _ in range(2):
                svc.record_usage(
                    provider="openai", model="gpt-4o", input_tokens=100, occurred_at=then
                )
    finally:
        clock.set_clock(None)


def prune_scenario(run) -> None:
    dry = run("prune", "--older-than", "90d", "--ledger", "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    counts = dry.json["counts"]
    # allocation created + released, two usage recorded: the newest event stays
    assert counts == {
        "webhook_deliveries": 0,
        "events": 3,
        "allocation_windows": 1,
        "allocations": 1,
        "usage_records": 2,
    }
    assert dry.json["dry_run"] is True and dry.json["total"] == 7
    table = run("prune", "--older-than", "90d", "--ledger", "--dry-run")
    assert "would delete 7 rows" in table.stdout and "allocation_windows" in table.stdout
    done = run("prune", "--older-than", "90d", "--ledger", "--json")
    assert done.code == 0 and done.json["counts"] == counts and done.json["dry_run"] is False
    again = run("prune", "--older-than", "90d", "--ledger")
    assert again.code == 0 and "deleted 0 rows" in again.stdout
    assert run("usage", "list", "--json").json["total"] == 0


def test_prune_on_a_local_database(cli_db, run_cli, one_error_line):
    seed_old_rows(cli_db)
    prune_scenario(run_cli)
    one_error_line(run_cli("prune", "--older-than", "5y"), 2, "older_than", "5y")
    one_error_line(run_cli("prune", "--older-than", "30m"), 2, "older_than")


@pytest.mark.slow
def test_prune_through_a_server(cli_db, run_cli, start_server):
    seed_old_rows(cli_db)
    server = start_server(cli_db)
    prune_scenario(lambda *args: run_cli(*args, "--url", server.url))


def raise_two_alerts(run) -> None:
    run("budgets", "create", "team-alpha", "--json")
    run("policies", "add", "team-alpha", "--type", "hard_limit", "--period", "daily",
        "--token-limit", "3000")  # fmt: skip
    denied = run("allocate", "t1", "--provider", "openai", "--model", "gpt-4o", "--tokens", "5000")
    assert denied.code == 3
    unpriced = run("usage", "record", "--provider", "acme", "--model", "nope-1", "--input", "5")
    assert unpriced.code == 0, unpriced.stderr


def ack_scenario(run, one_error_line) -> None:
    raise_two_alerts(run)
    one_error_line(run("alerts", "ack"), 2, "--all", "--kind", "--before")
    assert run("alerts", "ack", "--before", "2000-01-01", "--json").json == {"acknowledged": 0}
    assert run("alerts", "ack", "--kind", "denied", "--by", "ops", "--json").json == {
        "acknowledged": 1
    }
    assert run("alerts", "ack", "--kind", "denied", "--json").json == {"acknowledged": 0}
    open_ = run("alerts", "list", "--unacknowledged", "--json").json["items"]
    assert [a["kind"] for a in open_] == ["unpriced_model"]
    done = run("alerts", "ack", "--all", "--budget", "team-alpha")
    assert done.code == 0 and "acknowledged 0 alerts" in done.stdout  # not that budget's
    assert run("alerts", "ack", "--all", "--json").json == {"acknowledged": 1}
    assert run("alerts", "list", "--unacknowledged", "--json").json["total"] == 0
    denied = run("alerts", "list", "--kind", "denied", "--json").json["items"][0]
    assert denied["acknowledged_by"] == "ops"  # the first acknowledgement stays


def test_bulk_acknowledgement_on_a_local_database(run_cli, one_error_line):
    ack_scenario(run_cli, one_error_line)


@pytest.mark.slow
def test_bulk_acknowledgement_through_a_server(run_cli, start_server, one_error_line):
    server = start_server()
    ack_scenario(lambda *args: run_cli(*args, "--url", server.url), one_error_line)
