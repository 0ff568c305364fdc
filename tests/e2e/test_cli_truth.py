"""Hostile values through the real CLI, exit codes that tell the truth, no secret printed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from budget.cli.runtime import EXIT_INPUT, EXIT_MISMATCH, EXIT_SERVER

CANARY = "Canary-Pa55word-7f3e"
_OURS = ("BUDGET_URL", "BUDGET_KEY", "BUDGET_DATABASE_URL", "BUDGET_TIMEOUT")


def clean_env() -> dict[str, str]:
    """This process's environment without Budget's own settings."""
    return {**{k: v for k, v in os.environ.items() if k not in _OURS}, "COLUMNS": "200"}


def budget(*args: str | bytes, env: dict[str, str] | None = None, timeout: float = 60):
    """``budget ARGS`` as a real process (bytes arguments reach it as given)."""
    return subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"budget",
            *(a if isinstance(a, bytes) else a.encode() for a in args),
        ],
        capture_output=True,
        env={**clean_env(), **(env or {})},
        timeout=timeout,
    )


def one_line(run, code: int) -> str:
    stderr = run.stderr.decode("utf-8", "replace")
    assert run.returncode == code, (run.returncode, run.stdout[-500:], stderr[-2000:])
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


RECORD = ("usage", "record", "--provider", "openai", "--model")
HOSTILE_COMMANDS = [
    (("budgets", "create", "x", "--meta", b"k=\xff\xfe"), "metadata.k"),
    (("budgets", "create", "x", "--meta", "k=NaN"), "metadata.k"),
    (("budgets", "create", "x" * 201), "name"),
    ((*RECORD, "gpt-4o", "--input", "10000000000000"), "input_tokens"),
    ((*RECORD, "gpt-4o", "--at", "9999-12-31T23:59:59Z"), "occurred_at"),
    ((*RECORD, "gpt-4o", "--component", "c" * 201), "component"),
    ((*RECORD, b"gpt\xed\xa0\x80"), "model"),
    (("policies", "add", "team", "--type", "hard_limit", "--period", "daily",
      "--cost-limit", "1e400"), "cost_limit"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "field"), HOSTILE_COMMANDS)
def test_hostile_values_exit_2_with_one_line_naming_the_field(cli_db, args, field):
    assert budget("budgets", "create", "team", "--database-url", cli_db).returncode == 0
    line = one_line(budget(*args, "--database-url", cli_db), EXIT_INPUT)
    assert field in line
    assert "Decimal(" not in line and "datetime.datetime" not in line


def test_json_errors_are_problem_bodies_on_stderr(cli_db):
    run = budget("budgets", "show", "nobody", "--json", "--database-url", cli_db)
    assert run.returncode == EXIT_INPUT and run.stdout == b""
    problem = json.loads(run.stderr)
    assert problem["status"] == 404 and problem["type"] == "urn:budget:problem:not-found"
    assert problem["field"] and problem["value"] == "nobody" and problem["detail"]


def test_read_only_commands_do_not_create_a_database(tmp_path):
    missing = tmp_path / "nowhere.db"
    line = one_line(budget("status", "--database-url", f"sqlite:///{missing}"), EXIT_INPUT)
    assert "budget init" in line and str(missing) in line
    assert not missing.exists()
    assert budget("init", "--database-url", f"sqlite:///{missing}").returncode == 0
    assert missing.exists()


def test_usage_import_reads_a_bom_and_reports_bad_rows_by_line(cli_db, tmp_path):
    csv = tmp_path / "usage.csv"
    csv.write_bytes(
        b"\xef\xbb\xbfprovider,model,input_tokens,output_tokens,request_id\r\n"
        b"openai,gpt-4o,10,5,r1\r\n"
        b"openai,gpt-4o,10000000000000,5,r2\r\n"
        b"openai,gpt\xff,10,5,r3\r\n"
        b"openai,gpt-4o,20,5,r4\r\n"
    )
    run = budget("usage", "import", str(csv), "--json", "--database-url", cli_db)
    report = json.loads(run.stdout)
    assert run.returncode == EXIT_INPUT, run.stderr
    assert report["recorded"] == 2
    assert [f["line"] for f in report["failures"]] == [3, 4]
    assert "input_tokens" in report["failures"][0]["error"]


def test_a_failed_price_source_fails_the_update(cli_db):
    env = {
        "BUDGET_PRICE_SOURCES": json.dumps({"litellm": {"url": "http://127.0.0.1:9/prices.json"}}),
        "BUDGET_PRICE_HTTP_RETRIES": "0",
        "BUDGET_PRICE_HTTP_TIMEOUT_SECONDS": "2",
    }
    run = budget("prices", "update", "--source", "litellm", "--database-url", cli_db, env=env)
    line = one_line(run, EXIT_SERVER)
    assert "litellm" in line and "1 of 1" in line
    as_json = budget(
        "prices", "update", "--source", "litellm", "--json", "--database-url", cli_db, env=env
    )
    assert as_json.returncode == EXIT_SERVER
    assert json.loads(as_json.stdout)[0]["sources"][0]["status"] == "error"
    assert json.loads(as_json.stderr)["failed"] == ["litellm"]


def test_rollups_check_exits_non_zero_on_a_mismatch(cli_db):
    recorded = budget(*RECORD, "gpt-4o", "--input", "100", "--database-url", cli_db)
    assert recorded.returncode == 0, recorded.stderr
    assert budget("rollups", "rebuild", "--check", "--database-url", cli_db).returncode == 0
    engine = create_engine(cli_db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE usage_rollups SET input_tokens = input_tokens + 1"))
    engine.dispose()
    line = one_line(
        budget("rollups", "rebuild", "--check", "--database-url", cli_db), EXIT_MISMATCH
    )
    assert "disagree" in line
    assert budget("rollups", "rebuild", "--database-url", cli_db).returncode == 0
    assert budget("rollups", "rebuild", "--check", "--database-url", cli_db).returncode == 0


def test_a_busy_or_impossible_port_is_a_clear_input_error(cli_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        line = one_line(budget("serve", "--port", port, "--database-url", cli_db), EXIT_INPUT)
    assert "port" in line and "in use" in line
    bad = budget("serve", "--port", "70000", "--database-url", cli_db)
    assert bad.returncode == EXIT_INPUT and b"Traceback" not in bad.stderr


@pytest.mark.postgres
def test_no_secret_is_printed_or_logged(postgres_url, tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(password=CANARY).render_as_string(hide_password=False)
    assert CANARY in url
    seen = []
    init = budget("init", "--database-url", url)
    assert init.returncode == 0, init.stderr
    seen += [init.stdout, init.stderr]
    init_json = budget("init", "--json", "--database-url", url)
    seen += [init_json.stdout, init_json.stderr]
    wrong_port = url.replace(":5432/", ":1/")
    down = budget("status", "--json", "--database-url", wrong_port)
    assert down.returncode == EXIT_SERVER
    assert json.loads(down.stderr)["status"] == 503
    seen += [down.stdout, down.stderr, budget("status", "--database-url", wrong_port).stderr]

    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "budget", "serve", "--port", str(port), "--database-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**clean_env(), "BUDGET_WEBHOOK_ALLOW_PRIVATE": "true"},  # a loopback hook
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, server, log)
        created = httpx.post(f"{base}/api/v1/keys", json={"name": "ops", "role": "admin"})
        secret = created.json()["secret"]
        auth = {"Authorization": f"Bearer {secret}"}
        hook = httpx.post(
            f"{base}/api/v1/webhooks",
            json={"url": f"http://user:{CANARY}@127.0.0.1:9/hook?token={CANARY}"},
            headers=auth,
        )
        assert hook.status_code == 201, hook.text
        listed = httpx.get(f"{base}/api/v1/webhooks", headers=auth).text
        ready = httpx.get(f"{base}/ready").text
        seen += [listed.encode(), ready.encode()]
    finally:
        server.terminate()
        server.wait(timeout=15)
    banner = log.read_bytes()
    assert b"serving on" in banner and b"***" in banner
    seen.append(banner)
    for output in seen:
        assert CANARY.encode() not in output, output.decode(errors="replace")[-2000:]
        assert secret.encode() not in output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-2000:])
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"no answer: {log.read_text()[-2000:]}")
