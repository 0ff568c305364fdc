"""Every ``budget`` command through typer's CliRunner, on a local SQLite database."""

from __future__ import annotations

import json

import pytest
import typer

from budget.cli.app import app

# --- setup ---------------------------------------------------------------------------


def test_init_creates_and_reports_the_database(tmp_path, invoke_cli):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    run = invoke_cli(["init", "--database-url", url])
    assert run.code == 0 and f"ready: {url}" in run.stdout
    assert invoke_cli(["init", "--database-url", url, "--json"]).json == {"status": "ready"}


def test_every_command_has_help_with_an_example(invoke_cli):
    group = typer.main.get_command(app)
    paths = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            paths.append(path)

    walk(group, [])
    assert len(paths) >= 30
    for path in paths:
        run = invoke_cli([*path, "--help"])
        assert run.code == 0, path
        assert "Example:" in run.stdout and "budget " in run.stdout, path
        if path not in (["serve"], ["mcp"]):  # these two only run on a local database
            assert "--json" in run.stdout and "--url" in run.stdout, path


# --- budgets -----------------------------------------------------------------------


def test_budgets_create_list_show_update_delete(run_cli, one_error_line):
    created = run_cli("budgets", "create", "team-alpha", "--owner", "platform", "--meta", "cc=42")
    assert created.code == 0 and "team-alpha" in created.stdout and "cc=42" in created.stdout
    budget_id = run_cli("budgets", "show", "team-alpha", "--json").json["budget_id"]
    assert run_cli("budgets", "show", budget_id, "--json").json["metadata"] == {"cc": 42}

    listed = run_cli("budgets", "list", "--json").json
    assert listed["total"] == 1 and listed["limit"] == 100 and listed["offset"] == 0
    assert [b["name"] for b in listed["items"]] == ["team-alpha"]
    table = run_cli("budgets", "list")
    assert "team-alpha" in table.stdout and "1-1 of 1 budgets" in table.stdout
    assert run_cli("budgets", "list", "--owner", "nobody", "--json").json["total"] == 0

    updated = run_cli("budgets", "update", "team-alpha", "--owner", "research", "--inactive")
    assert updated.code == 0 and "research" in updated.stdout
    assert run_cli("budgets", "list", "--inactive", "--json").json["total"] == 1

    deleted = run_cli("budgets", "delete", "team-alpha")
    assert deleted.code == 0 and f"deleted budget {budget_id}" in deleted.stdout
    one_error_line(run_cli("budgets", "show", "team-alpha"), 2, "no budget", "team-alpha")


def test_budget_errors_are_one_line_with_exit_2(run_cli, one_error_line):
    run_cli("budgets", "create", "team-alpha")
    one_error_line(run_cli("budgets", "create", "team-alpha"), 2, "name='team-alpha'")
    one_error_line(run_cli("budgets", "create", "x" * 300), 2, "name=")
    one_error_line(run_cli("budgets", "create", "b", "--meta", "novalue"), 2, "--meta")
    one_error_line(run_cli("budgets", "show", "bud_nope"), 2, "bud_nope")
    one_error_line(run_cli("budgets", "summary", "missing"), 2, "no budget")


def test_budget_summary_shows_each_window_with_a_bar(run_cli, make_budget):
    make_budget()
    run_cli("allocate", "t1", "--provider", "openai", "--model", "gpt-4o", "--tokens", "1500")
    summary = run_cli("budgets", "summary", "team-alpha", "--json").json
    assert summary["budget"]["name"] == "team-alpha"
    [window] = summary["windows"]
    assert window["tokens_reserved"] == 1500 and window["token_limit"] == 3000
    table = run_cli("budgets", "summary", "team-alpha").stdout
    assert "daily-hard_limit" in table and "▒▒▒▒▒▒▒▒▒▒" in table and "+50%" in table


# --- policies ------------------------------------------------------------------------


def test_policies_add_list_show_update_disable_enable_delete(run_cli, make_budget, one_error_line):
    budget_id, _ = make_budget()
    added = run_cli(
        "policies", "add", "team-alpha", "--type", "warn", "--period", "monthly",
        "--cost-limit", "5", "--warn", "0.5", "--warn", "0.8", "--provider", "openai",
        "--tag", "prod", "--timezone", "Europe/Berlin", "--name", "monthly-usd", "--json",
    ).json  # fmt: skip
    assert added["cost_limit"] == "5" and added["warning_thresholds"] == ["0.5", "0.8"]
    assert added["scope"]["provider"] == "openai" and added["scope"]["tags"] == ["prod"]
    pid = added["policy_id"]

    assert len(run_cli("policies", "list", "--json").json) == 2
    assert len(run_cli("policies", "list", "--budget", budget_id, "--json").json) == 2
    listed = run_cli("policies", "list", "--budget", "team-alpha").stdout
    assert "monthly-usd" in listed and "provider=openai" in listed and "2 policies" in listed
    assert run_cli("policies", "show", pid, "--json").json["timezone"] == "Europe/Berlin"

    changed = run_cli(
        "policies", "update", pid, "--cost-limit", "7.5", "--clear", "provider", "--json"
    ).json
    assert changed["cost_limit"] == "7.5" and changed["scope"]["provider"] is None
    assert run_cli("policies", "disable", pid, "--json").json["enabled"] is False
    assert run_cli("policies", "enable", pid, "--json").json["enabled"] is True
    assert "deleted policy" in run_cli("policies", "delete", pid).stdout
    one_error_line(run_cli("policies", "show", pid), 2, pid)


def test_policy_bad_input_names_the_field(run_cli, one_error_line):
    run_cli("budgets", "create", "b")
    base = ["policies", "add", "b", "--type", "hard_limit", "--period", "daily"]
    one_error_line(run_cli(*base), 2, "token_limit")
    one_error_line(run_cli(*base, "--cost-limit", "abc"), 2, "cost_limit", "abc")
    one_error_line(run_cli(*base, "--token-limit", "9", "--timezone", "Mars/Base"), 2, "Mars")
    usage = run_cli(*base[:-1], "fortnightly", "--token-limit", "9")
    assert usage.code == 2 and "fortnightly" in usage.stderr  # Typer's own usage error
    one_error_line(run_cli("policies", "update", "pol_x", "--clear", "type"), 2, "--clear")
    one_error_line(run_cli("policies", "update", "pol_x"), 2, "nothing to change")
    one_error_line(run_cli("policies", "add", "nobody", *base[3:], "--token-limit", "9"), 2)


# --- allocate, check, allocations ------------------------------------------------------


def test_allocate_prints_the_allocation(run_cli, make_budget):
    _, policy_id = make_budget()
    run = run_cli(
        "allocate", "task-42", "--provider", "openai", "--model", "gpt-4o",
        "--input", "1200", "--max-output", "800", "--priority", "high", "--meta", "k=v",
    )  # fmt: skip
    assert run.code == 0 and "task-42" in run.stdout and "2000" in run.stdout
    data = run_cli("allocations", "list", "--context", "task-42", "--json").json
    [item] = data["items"]
    assert item["priority"] == 8 and item["policy_ids"] == [policy_id]
    assert item["cost_reserved"] == "0.011" and item["metadata"] == {"k": "v"}


def test_denial_is_one_line_with_policy_window_limit_used_reserved_resets_and_exit_3(
    run_cli, make_budget, one_error_line
):
    make_budget()
    first = run_cli(
        "allocate", "t1", "--provider", "openai", "--model", "gpt-4o", "--tokens", "2000"
    )
    assert first.code == 0
    denied = run_cli(
        "allocate", "t2", "--provider", "openai", "--model", "gpt-4o", "--tokens", "2000"
    )
    line = one_error_line(
        denied, 3, "budget exceeded", "daily-hard_limit", "window 20", "limit 3000",
        "used 0", "reserved 2000", "requested 2000", "resets at 20",
    )  # fmt: skip
    assert denied.stdout == ""
    assert line.count("\n") == 0
    assert run_cli("allocate", "t3", "--provider", "openai", "--tokens", "2000", "--json").code == 3


def test_check_is_a_dry_run_exit_0_when_allowed_3_when_denied(run_cli, make_budget, one_error_line):
    make_budget()
    ok = run_cli("check", "--provider", "openai", "--model", "gpt-4o", "--tokens", "1000")
    assert ok.code == 0 and ok.stdout.startswith("allowed: 1,000 tokens")
    big = run_cli(
        "check", "--provider", "openai", "--model", "gpt-4o", "--tokens", "5000", "--json"
    )
    assert big.code == 3 and big.json["allowed"] is False
    assert big.json["denials"][0]["limit"] == "3000"
    human = run_cli("check", "ctx", "--provider", "openai", "--tokens", "5000")
    assert (
        human.code == 3 and "denied: 5,000 tokens" in human.stdout and "limit 3000" in human.stdout
    )
    assert run_cli("allocations", "list", "--json").json["total"] == 0  # nothing reserved
    one_error_line(run_cli("check", "--priority", "urgent"), 2, "priority")


def test_allocations_list_show_release_sweep(run_cli, make_budget, one_error_line):
    make_budget()
    alloc = run_cli(
        "allocate", "t1", "--provider", "openai", "--model", "gpt-4o", "--tokens", "500",
        "--json",
    ).json  # fmt: skip
    aid = alloc["allocation_id"]
    assert run_cli("allocations", "show", aid, "--json").json["status"] == "active"
    assert aid in run_cli("allocations", "list", "--status", "active").stdout
    released = run_cli("allocations", "release", aid, "--json").json
    assert released["status"] == "released"
    assert run_cli("allocations", "release", aid, "--json").json["status"] == "released"
    assert run_cli("allocations", "list", "--status", "active", "--json").json["total"] == 0
    swept = run_cli("allocations", "sweep")
    assert swept.code == 0 and "expired 0 allocations" in swept.stdout
    assert run_cli("allocations", "sweep", "--json").json == {"expired": 0}
    one_error_line(run_cli("allocations", "show", "alc_nope"), 2, "alc_nope")


# --- usage -----------------------------------------------------------------------------


def test_usage_record_list_show_totals(run_cli, make_budget, one_error_line):
    make_budget()
    rec = run_cli(
        "usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "1200",
        "--output", "640", "--request-id", "req-1", "--tag", "prod", "--json",
    ).json  # fmt: skip
    assert rec["cost"] == "0.0094" and rec["total_tokens"] == 1840
    again = run_cli(
        "usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "1200",
        "--output", "640", "--request-id", "req-1", "--tag", "prod", "--json",
    ).json  # fmt: skip
    assert again["usage_id"] == rec["usage_id"]  # idempotent
    one_error_line(
        run_cli("usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "5",
                "--request-id", "req-1"),
        2, "request_id='req-1'",
    )  # fmt: skip
    run_cli("usage", "record", "--provider", "acme", "--model", "mystery", "--input", "10")
    assert run_cli("usage", "list", "--json").json["total"] == 2
    assert run_cli("usage", "list", "--unpriced", "--json").json["total"] == 1
    assert run_cli("usage", "list", "--budget", "team-alpha", "--json").json["total"] == 2
    listed = run_cli("usage", "list", "--provider", "openai").stdout
    assert "req-1" in listed and "$0.0094" in listed and "1-1 of 1 usage records" in listed
    assert "unpriced" in run_cli("usage", "list").stdout
    shown = run_cli("usage", "show", rec["usage_id"])
    assert shown.code == 0 and "cost_breakdown" in shown.stdout
    totals = run_cli("usage", "totals", "--json").json
    assert totals == {"records": 2, "tokens": 1850, "cost": "0.0094", "unpriced_records": 1}
    text = run_cli("usage", "totals", "--provider", "openai").stdout
    assert "1 records, 1,840 tokens, $0.0094" in text
    one_error_line(run_cli("usage", "record", "--model", "gpt-4o"), 2, "provider")
    one_error_line(run_cli("usage", "show", "use_nope"), 2, "use_nope")
    one_error_line(run_cli("usage", "list", "--since", "last week"), 2, "since='last week'")
    assert run_cli("usage", "list", "--since", "24h", "--json").json["total"] == 2
    assert run_cli("usage", "list", "--until", "yesterday", "--json").json["total"] == 0


def test_usage_import_csv_reports_recorded_skipped_failed_with_lines(run_cli, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(
        "provider,model,input_tokens,output_tokens,request_id,tags,metadata\n"
        'openai,gpt-4o,100,50,a1,x;y,"{""k"": 1}"\n'
        "openai,gpt-4o,100,50,a2,,\n"
        "openai,gpt-4o,-5,50,a3,,\n"
        "openai,gpt-4o,100,50,a4,,\n"
        ",gpt-4o,100,50,a5,,\n"
        "openai,gpt-4o,100,50,a1,x;y,\n"
    )
    run = run_cli("usage", "import", path, "--batch-size", "2", "--json")
    assert run.code == 2
    report = run.json
    assert (report["rows"], report["recorded"], report["skipped"]) == (6, 3, 0)
    assert [f["line"] for f in report["failures"]] == [4, 6, 7]
    assert "input_tokens=-5" in report["failures"][0]["error"]
    assert "provider" in report["failures"][1]["error"]
    assert "request_id='a1'" in report["failures"][2]["error"]  # same id, other content
    again = run_cli("usage", "import", path).stdout
    assert "recorded 0, skipped 3 (already recorded), failed 3" in again
    assert run_cli("usage", "totals", "--json").json["records"] == 3
    items = run_cli("usage", "list", "--json").json["items"]
    first = next(u for u in items if u["request_id"] == "a1")
    assert first["attributes"]["tags"] == ["x", "y"] and first["metadata"] == {"k": 1}


def test_usage_import_jsonl_and_duplicates_within_the_file(run_cli, tmp_path):
    lines = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "request_id": "j1"},
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "request_id": "j2"},
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "request_id": "j1"},
        {"allocation_id": "alc_nope", "input_tokens": 3},
        {"provider": "openai", "model": "gpt-4o", "bogus": 1},
    ]
    path = tmp_path / "usage.jsonl"
    path.write_text(
        "\n".join([*map(json.dumps, lines[:2]), "", "not json", *map(json.dumps, lines[2:])])
    )
    report = run_cli("usage", "import", path, "--json").json
    assert (report["rows"], report["recorded"], report["skipped"], report["failed"]) == (6, 2, 1, 3)
    assert [f["line"] for f in report["failures"]] == [4, 6, 7]
    assert "no allocation" in report["failures"][1]["error"]
    assert "bogus" in report["failures"][2]["error"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert run_cli("usage", "import", empty, "--json").json["rows"] == 0
    assert run_cli("usage", "import", tmp_path / "missing.csv").code == 2


# --- status, cost, alerts, keys ------------------------------------------------------


def test_status_shows_every_budget_with_bars(run_cli, make_budget):
    empty = run_cli("status")
    assert empty.code == 0 and "no budgets yet" in empty.stdout
    assert run_cli("status", "--json").json == []
    make_budget("team-alpha")
    make_budget("team-beta", cost_limit="1")
    run_cli("usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "2700")
    out = run_cli("status").stdout
    assert "team-alpha" in out and "team-beta" in out
    assert "█████████████████▒" not in out and "██████████████████" in out and "90%" in out
    data = run_cli("--json", "status").json
    assert [s["budget"]["name"] for s in data] == ["team-alpha", "team-beta"]
    assert data[0]["windows"][0]["tokens_used"] == 2700


def test_cost_estimates_at_the_catalog_price(run_cli):
    run = run_cli("cost", "gpt-4o", "--provider", "openai", "--input", "1000", "--output", "500")
    assert run.code == 0 and "openai/gpt-4o: $0.0075" in run.stdout
    data = run_cli("cost", "gpt-4o", "--provider", "openai", "--input", "1000", "--json").json
    assert data["priced"] is True and data["cost"] == "0.0025"
    unknown = run_cli("cost", "mystery", "--provider", "acme", "--input", "10")
    assert unknown.code == 0
    assert "unpriced (no price for model 'mystery' at platform" in unknown.stdout
    assert run_cli("cost", "gpt-4o").code == 2  # --provider is required


def test_alerts_list_and_ack(run_cli, make_budget, one_error_line):
    make_budget()
    run_cli("allocate", "t1", "--provider", "openai", "--model", "gpt-4o", "--tokens", "5000")
    data = run_cli("alerts", "list", "--json").json
    assert data["total"] >= 1
    alert = next(a for a in data["items"] if a["kind"] == "denied")
    assert "denied" in run_cli("alerts", "list", "--kind", "denied").stdout
    acked = run_cli("alerts", "ack", alert["alert_id"], "--by", "alice", "--json").json
    assert acked["acknowledged_by"] == "alice"
    assert (
        run_cli("alerts", "list", "--unacknowledged", "--kind", "denied", "--json").json["total"]
        == 0
    )
    assert run_cli("alerts", "list", "--budget", "team-alpha", "--json").json["total"] >= 1
    one_error_line(run_cli("alerts", "ack", "alr_nope"), 2, "alr_nope")


def test_keys_create_list_revoke(run_cli, one_error_line):
    created = run_cli("keys", "create", "ops", "--role", "admin")
    assert created.code == 0 and "secret (shown once): bgt_" in created.stdout
    listed = run_cli("keys", "list", "--json").json
    assert [(k["name"], k["role"]) for k in listed] == [("ops", "admin")]
    assert "secret" not in listed[0]
    revoked = run_cli("keys", "revoke", listed[0]["key_id"], "--json").json
    assert revoked["revoked_at"] is not None
    one_error_line(run_cli("keys", "create", "ops"), 2, "name='ops'")
    one_error_line(run_cli("keys", "create", "x", "--role", "root"), 2, "role")
    one_error_line(run_cli("keys", "revoke", "key_nope"), 2, "key_nope")


# --- global options and failures -----------------------------------------------------


def test_global_options_work_before_and_after_the_command(
    run_cli, cli_db, invoke_cli, one_error_line
):
    run_cli("budgets", "create", "b")
    before = invoke_cli(["--json", "--database-url", cli_db, "budgets", "list"]).json
    after = invoke_cli(["budgets", "list", "--json", "--database-url", cli_db]).json
    assert before == after and before["total"] == 1
    both = invoke_cli(["--url", "http://127.0.0.1:9", "budgets", "list", "--database-url", cli_db])
    one_error_line(both, 2, "--url", "--database-url")
    # An explicit --database-url beats BUDGET_URL from the environment.
    env = invoke_cli(
        ["budgets", "list", "--database-url", cli_db, "--json"], {"BUDGET_URL": "http://x"}
    )
    assert env.json["total"] == 1


def test_server_and_network_problems_exit_4(run_cli, one_error_line):
    refused = run_cli("budgets", "list", "--url", "http://127.0.0.1:9", "--timeout", "2")
    one_error_line(refused, 4, "cannot reach http://127.0.0.1:9")
    one_error_line(run_cli("status", "--url", "ftp://example.org"), 2, "url=")


def test_database_problems_exit_4_and_bad_urls_exit_2(invoke_cli, one_error_line):
    down = invoke_cli(["budgets", "list", "--database-url", "postgresql://u@127.0.0.1:9/x"])
    one_error_line(down, 4, "cannot open the database", "127.0.0.1")
    assert "sqlalche.me" not in down.stderr
    odd = invoke_cli(["budgets", "list", "--database-url", "nosuchdb://x"])
    one_error_line(odd, 2, "database_url='nosuchdb://x'")


def test_unexpected_errors_are_one_line_too(run_cli, monkeypatch, one_error_line):
    from budget.cli.client import Client

    def boom(self, query):
        raise RuntimeError("kaput")

    monkeypatch.setattr(Client, "list_budgets", boom)
    one_error_line(run_cli("budgets", "list"), 1, "unexpected RuntimeError: kaput")


@pytest.mark.parametrize("args", [["budgets"], ["usage"], []])
def test_groups_without_a_command_show_help(args, invoke_cli):
    run = invoke_cli(args)
    assert run.code in (0, 2) and "Usage" in run.stdout + run.stderr


def test_prices_commands(run_cli):
    listed = run_cli("prices", "list", "--provider", "openai", "--search", "gpt-4o", "--json")
    assert listed.code == 0 and listed.json["total"] >= 2
    shown = run_cli("prices", "show", "gpt-4o", "--provider", "openai", "--json").json
    assert shown["rates"]["input"]["base"] == "2.5"
    assert "gpt-4o" in run_cli("prices", "show", "gpt-4o", "--provider", "openai").stdout
    missing = run_cli("prices", "show", "nope-1", "--provider", "acme")
    assert missing.code == 2 and missing.stderr.startswith("error:")
    set_ = run_cli(
        "prices", "override", "x-1", "--provider", "acme", "--input", "1", "--output", "2", "--json"
    )
    assert set_.code == 0 and set_.json["is_override"] is True
    cost = run_cli("cost", "x-1", "--provider", "acme", "--input", "1000000", "--json").json
    assert cost["cost"] == "1"
    history = run_cli("prices", "history", "x-1", "--provider", "acme", "--json").json
    assert [p["verification"] for p in history] == ["override"]
    assert run_cli("prices", "clear-override", "x-1", "--provider", "acme").code == 0
    assert run_cli("prices", "conflicts", "--json").json == []
    names = {s["name"] for s in run_cli("prices", "sources", "--json").json}
    assert "genai-prices" in names
    update = run_cli("prices", "update", "--source", "genai-prices", "--json")
    assert update.code == 0 and update.json[0]["sources"][0]["status"] == "ok"
    assert "genai-prices" in run_cli("prices", "update", "--source", "genai-prices").stdout
