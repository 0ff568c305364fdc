"""The CLI against a real ``budget serve`` process: the same output as on a local database."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytestmark = pytest.mark.slow

IDS = re.compile(r"\b(bud|pol|alc|use|alr|key)_[0-9a-f]{24}\b")
TIMES = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def normalized(value: Any) -> Any:
    """Ids and timestamps replaced by placeholders; everything else as is."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str):
        return TIMES.sub("<time>", IDS.sub(r"\1_<id>", value))
    return value


SCENARIO: list[tuple[str, list[str], int]] = [
    ("create budget", ["budgets", "create", "team-alpha", "--owner", "platform"], 0),
    ("add policy", ["policies", "add", "team-alpha", "--type", "hard_limit", "--period",
                    "daily", "--token-limit", "3000", "--provider", "openai"], 0),
    ("add usd policy", ["policies", "add", "team-alpha", "--type", "warn", "--period",
                        "monthly", "--cost-limit", "5", "--warn", "0.5"], 0),
    ("allocate", ["allocate", "task-1", "--provider", "openai", "--model", "gpt-4o",
                  "--input", "1200", "--max-output", "800", "--priority", "high"], 0),
    ("denial", ["allocate", "task-2", "--provider", "openai", "--model", "gpt-4o",
                "--tokens", "2000"], 3),
    ("check", ["check", "--provider", "openai", "--model", "gpt-4o", "--tokens", "2000"], 3),
    ("record usage", ["usage", "record", "--provider", "openai", "--model", "gpt-4o",
                      "--input", "1200", "--output", "640", "--request-id", "req-1"], 0),
    ("record again", ["usage", "record", "--provider", "openai", "--model", "gpt-4o",
                      "--input", "1200", "--output", "640", "--request-id", "req-1"], 0),
    ("list usage", ["usage", "list", "--budget", "team-alpha"], 0),
    ("totals", ["usage", "totals", "--provider", "openai"], 0),
    ("status", ["status"], 0),
    ("summary", ["budgets", "summary", "team-alpha"], 0),
    ("list policies", ["policies", "list", "--budget", "team-alpha"], 0),
    ("list allocations", ["allocations", "list"], 0),
    ("cost", ["cost", "gpt-4o", "--provider", "openai", "--input", "1000", "--output", "10"], 0),
    ("alerts", ["alerts", "list", "--kind", "denied"], 0),
    ("bad input", ["policies", "add", "team-alpha", "--type", "hard_limit", "--period",
                   "daily", "--cost-limit", "abc"], 2),
    ("not found", ["budgets", "show", "nobody"], 2),
    ("conflict", ["budgets", "create", "team-alpha"], 2),
    ("unknown allocation", ["allocations", "release", "alc_0123456789abcdef01234567"], 2),
    ("price", ["prices", "show", "gpt-4o", "--provider", "openai"], 0),
    ("prices", ["prices", "list", "--provider", "anthropic", "--search", "sonnet"], 0),
    ("override", ["prices", "override", "x-1", "--provider", "acme", "--input", "1"], 0),
    ("price history", ["prices", "history", "x-1", "--provider", "acme"], 0),
    ("unpriced", ["prices", "show", "nope-1", "--provider", "acme"], 2),
]  # fmt: skip


def test_remote_output_equals_local_output(run_cli, start_server):
    server = start_server()
    for name, args, code in SCENARIO:
        local = run_cli(*args, "--json")
        remote = run_cli(*args, "--json", "--url", server.url)
        assert (local.code, remote.code) == (code, code), (name, local, remote)
        if code == 0 or local.stdout:
            assert normalized(local.json) == normalized(remote.json), name
        assert normalized(local.stderr) == normalized(remote.stderr), name
        if code and name != "check":  # with --json an error is a problem body on stderr
            assert json.loads(remote.stderr)["detail"], name
    # and the tables people read are the same too
    for args in (["status"], ["usage", "list"], ["budgets", "list"], ["allocate", "t9"]):
        local, remote = run_cli(*args), run_cli(*args, "--url", server.url)
        assert normalized(local.stdout) == normalized(remote.stdout), args
        assert normalized(local.stderr) == normalized(remote.stderr), args


def test_remote_denial_exits_3_with_the_denial_line(run_cli, start_server):
    server = start_server()
    remote = ["--url", server.url]
    run_cli("budgets", "create", "b", *remote)
    run_cli("policies", "add", "b", "--type", "hard_limit", "--period", "total",
            "--token-limit", "100", *remote)  # fmt: skip
    denied = run_cli("allocate", "ctx", "--tokens", "101", *remote)
    assert denied.code == 3 and denied.stdout == ""
    [line] = denied.stderr.strip().splitlines()
    for part in ("budget exceeded", "'total-hard_limit'", "window total", "limit 100",
                 "used 0", "reserved 0", "requested 101", "resets at never"):  # fmt: skip
        assert part in line, part


def test_remote_usage_import_matches_local(run_cli, start_server, tmp_path):
    server = start_server()
    path = tmp_path / "usage.jsonl"
    rows = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "request_id": f"r{i}"}
        for i in range(7)
    ]
    rows[3] = {"provider": "openai", "model": "gpt-4o", "input_tokens": -1}
    rows[5] = {"allocation_id": "alc_nope", "input_tokens": 1}
    path.write_text("\n".join(json.dumps(r) for r in [*rows, rows[0]]) + "\n")
    local = run_cli("usage", "import", path, "--batch-size", "3", "--json")
    remote = run_cli("usage", "import", path, "--batch-size", "3", "--json", "--url", server.url)
    assert local.code == remote.code == 2
    assert local.json == remote.json
    assert (remote.json["recorded"], remote.json["skipped"], remote.json["failed"]) == (5, 1, 2)
    assert [f["line"] for f in remote.json["failures"]] == [4, 6]
    totals = run_cli("usage", "totals", "--json", "--url", server.url).json
    assert totals["records"] == 5


def test_remote_only_gaps_are_clear(run_cli, start_server):
    server = start_server()
    assert run_cli("init", "--url", server.url, "--json").json == {"status": "ready"}
    assert f"ready: {server.url}" in run_cli("init", "--url", server.url).stdout
    sweep = run_cli("allocations", "sweep", "--url", server.url)
    assert sweep.code == 0, sweep.stderr
    env = run_cli("budgets", "list", "--json", env={"BUDGET_URL": server.url})
    assert env.code == 0 and env.json["total"] == 0


def test_api_keys_over_the_wire(run_cli, invoke_cli, start_server, cli_db):
    admin = run_cli("keys", "create", "ops", "--role", "admin", "--json").json["secret"]
    client = run_cli("keys", "create", "app", "--json").json["secret"]
    server = start_server(cli_db)  # started after the keys exist: auth is on
    url = ["--url", server.url]

    created = invoke_cli(["budgets", "create", "team", "--json", *url, "--key", admin])
    assert created.code == 0 and created.json["name"] == "team"
    env = invoke_cli(["budgets", "list", "--json"], {"BUDGET_URL": server.url, "BUDGET_KEY": admin})
    assert env.code == 0 and env.json["total"] == 1
    assert invoke_cli(["--key", client, *url, "budgets", "list", "--json"]).json["total"] == 1

    wrong = invoke_cli(["budgets", "list", *url, "--key", "bgt_wrong"])
    assert wrong.code == 2 and wrong.stderr.strip() == "error: unknown or revoked API key"
    assert "bgt_wrong" not in wrong.stderr
    missing = invoke_cli(["status", *url])
    assert missing.code == 2 and "an API key is required" in missing.stderr
    role = invoke_cli(["budgets", "create", "other", *url, "--key", client])
    assert role.code == 2 and "needs an admin key" in role.stderr
    listed = invoke_cli(["keys", "list", "--json", *url, "--key", admin]).json
    assert {k["name"] for k in listed} == {"ops", "app"}
    checked = invoke_cli(["init", *url, "--key", "bgt_wrong"])
    assert checked.code == 2 and "unknown or revoked API key" in checked.stderr
