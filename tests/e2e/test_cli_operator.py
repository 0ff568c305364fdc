"""``budget --version``, ``budget doctor``, ``budget usage export`` and relative
times, on a local database and against a real ``budget serve``."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

import budget
from budget.api.usage_export import CSV_COLUMNS
from budget.clock import utcnow
from budget.engine.export import PAGE_SIZE

pytestmark = pytest.mark.slow
N = PAGE_SIZE + 205  # more than one page of the export


def _seed(url: str) -> tuple[int, Decimal]:
    """N records over the last few hours, one voided; the ledger's count and cost."""
    start = utcnow() - timedelta(hours=5)
    with budget.open(url) as svc:
        items = [
            {
                "provider": "openai" if i % 4 else "anthropic",
                "model": "gpt-4o" if i % 4 else "claude-3-5-haiku",
                "input_tokens": 1000 + i,
                "output_tokens": 3 * i,
                "occurred_at": start + timedelta(seconds=i // 3),  # ties across pages
                "request_id": f"r-{i}",
            }
            for i in range(N)
        ]
        for offset in range(0, N, 1000):
            svc.record_usage_batch(items[offset : offset + 1000])
        svc.void_usage(svc.list_usage(limit=1).pop().usage_id, reason="test")
        entries = svc.list_usage(limit=1).total
        return entries, svc.usage_totals()["cost"]


def _csv_rows(text_: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert rows and tuple(rows[0].keys()) == CSV_COLUMNS
    return rows


def _cost(values) -> Decimal:
    return sum((Decimal(v) for v in values if v), Decimal(0))


def test_version(invoke_cli):
    run = invoke_cli(["--version"])
    assert run.code == 0
    assert run.stdout.strip() == f"budget {importlib.metadata.version('budget-gate')}"


def test_export_equals_the_ledger_locally_and_remotely(db_url, invoke_cli, start_server, tmp_path):
    entries, cost = _seed(db_url)
    assert entries == N + 1
    server = start_server(db_url)
    local = {"BUDGET_DATABASE_URL": db_url}
    for where, env, extra in (("local", local, []), ("remote", {}, ["--url", server.url])):
        table = invoke_cli(["usage", "export", "--csv", *extra], env)
        assert table.code == 0, (where, table.stderr)
        rows = _csv_rows(table.stdout)
        assert len(rows) == entries, where
        assert _cost(r["cost"] for r in rows) == cost, where
        assert len({r["usage_id"] for r in rows}) == entries, where

        path = tmp_path / f"{where}.jsonl"
        lines = invoke_cli(["usage", "export", "--jsonl", "--output", path, *extra], env)
        assert lines.code == 0, (where, lines.stderr)
        assert f"wrote {path}" in lines.stdout
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(records) == entries, where
        assert _cost(r["cost"] for r in records) == cost, where

        openai = invoke_cli(["usage", "export", "--provider", "openai", "--since", "24h", *extra],
                            env)  # fmt: skip
        listed = invoke_cli(["usage", "totals", "--provider", "openai", "--since", "24h",
                             "--json", *extra], env).json  # fmt: skip
        assert _cost(r["cost"] for r in _csv_rows(openai.stdout)) == Decimal(listed["cost"])


def test_export_errors_are_one_line(run_cli, one_error_line, tmp_path):
    one_error_line(run_cli("usage", "export", "--since", "soon"), 2, "since='soon'")
    one_error_line(run_cli("usage", "export", "--csv", "--jsonl"), 2, "--csv or --jsonl")
    missing = tmp_path / "nowhere" / "x.csv"
    one_error_line(run_cli("usage", "export", "--output", missing), 2, "folder does not exist")
    assert not missing.parent.exists()


def test_relative_times_on_both_backends(run_cli, cli_db, start_server):
    run_cli("usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "10",
            "--at", "2d")  # fmt: skip
    run_cli("usage", "record", "--provider", "openai", "--model", "gpt-4o", "--input", "10")
    server = start_server(cli_db)
    for extra in ([], ["--url", server.url]):
        assert run_cli("usage", "list", "--since", "24h", "--json", *extra).json["total"] == 1
        assert run_cli("usage", "list", "--since", "7d", "--json", *extra).json["total"] == 2
        assert (
            run_cli("usage", "totals", "--until", "yesterday", "--json", *extra).json["records"]
            == 1
        )
        report = run_cli("report", "--since", "7d", "--timezone", "Europe/Berlin", "--json", *extra)
        assert report.code == 0 and report.json["total"]["records"] == 2


def test_doctor_locally_and_remotely(run_cli, cli_db, start_server):
    local = run_cli("doctor")
    assert local.code == 0, local.stderr
    for name in ("database", "schema", "extras", "api_keys", "price_sources", "clock"):
        assert name in local.stdout
    assert "at head" in local.stdout and "embedded SQLite" in local.stdout
    server = start_server(cli_db)
    remote = run_cli("doctor", "--json", "--url", server.url)
    assert remote.code == 0, remote.stderr
    assert [c["name"] for c in remote.json["checks"]] == [
        c["name"] for c in run_cli("doctor", "--json").json["checks"]
    ]
    table = run_cli("doctor", "--url", server.url)
    assert table.code == 0 and f"the server at {server.url}" in table.stdout


def test_doctor_fails_on_pending_migrations_without_running_them(run_cli, cli_db, one_error_line):
    engine = create_engine(cli_db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    run = run_cli("doctor")
    line = one_error_line(run, 1, "schema")
    assert "doctor found problems" in line
    assert "migrations pending" in run.stdout
    with engine.connect() as conn:  # doctor only looked
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0009"
    engine.dispose()


def test_doctor_exits_4_when_the_database_does_not_answer(invoke_cli):
    url = "postgresql+psycopg://budget:s3cret@127.0.0.1:1/nowhere"
    run = invoke_cli(["doctor", "--database-url", url])
    assert run.code == 4, run.stderr
    assert "does not answer" in run.stdout
    assert "s3cret" not in run.stdout + run.stderr
