"""Fixtures for the command line: a local database, a CLI runner, and a real server.

``run_cli`` invokes the Typer app in-process (typer's CliRunner) with the
environment cleared of BUDGET_URL / BUDGET_KEY / BUDGET_DATABASE_URL, so a
test says explicitly where each command runs. ``start_server`` runs
``budget serve`` as a subprocess on a free loopback port and a temp SQLite
database, and waits for /health.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from budget.cli.app import app

CLEAN_ENV = {
    "BUDGET_URL": None,
    "BUDGET_KEY": None,
    "BUDGET_DATABASE_URL": None,
    "BUDGET_TIMEOUT": None,
    "COLUMNS": "200",
}


@dataclass
class Run:
    """One CLI invocation: exit code, stdout, stderr, and stdout as JSON."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(args: list[str], env: dict[str, str | None] | None = None) -> Run:
    result = CliRunner().invoke(app, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})})
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def invoke_cli() -> Callable[..., Run]:
    """``invoke_cli([...], env)``: the CLI with only the environment given."""
    return invoke


@pytest.fixture
def cli_db(tmp_path, sqlite_template) -> str:
    """A fresh, migrated and seeded SQLite database for one test."""
    path = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def run_cli(cli_db) -> Callable[..., Run]:
    """``run_cli("budgets", "list", "--json")`` on the test's local database."""

    def run(*args: Any, env: dict[str, str | None] | None = None) -> Run:
        return invoke([*args], {"BUDGET_DATABASE_URL": cli_db, **(env or {})})

    return run


@pytest.fixture
def make_budget(run_cli) -> Callable[..., tuple[str, str]]:
    """``make_budget(name, **policy)``: a budget and a hard daily policy (3000 tokens
    unless options are given, e.g. ``cost_limit="1"``); returns their ids."""

    def make(name: str = "team-alpha", **policy: str) -> tuple[str, str]:
        created = run_cli("budgets", "create", name, "--owner", "platform", "--json")
        args = ["policies", "add", name, "--type", "hard_limit", "--period", "daily"]
        for key, value in (policy or {"token_limit": "3000"}).items():
            args += [f"--{key.replace('_', '-')}", value]
        return created.json["budget_id"], run_cli(*args, "--json").json["policy_id"]

    return make


@pytest.fixture
def one_error_line() -> Callable[..., str]:
    """``one_error_line(run, code, *needles)``: the run failed with ``code`` and one
    ``error: …`` line on stderr holding every needle, and no traceback."""

    def check(run: Run, code: int, *needles: str) -> str:
        assert run.code == code, (run.code, run.stdout, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
        return lines[0]

    return check


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    database_url: str
    process: subprocess.Popen
    log: Path


def _wait_healthy(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"budget serve exited: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"budget serve did not answer /health: {server.log.read_text()[-2000:]}")


@pytest.fixture
def start_server(tmp_path_factory, sqlite_template) -> Iterator[Callable[..., Server]]:
    """Start ``budget serve`` processes (on a fresh database unless given one)."""
    started: list[Server] = []

    def start(database_url: str | None = None) -> Server:
        workdir = tmp_path_factory.mktemp("server")
        if database_url is None:
            path = workdir / "server.db"
            shutil.copyfile(sqlite_template, path)
            database_url = f"sqlite:///{path}"
        port = free_port()
        log = workdir / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "budget", "serve"),
                    *("--port", str(port), "--database-url", database_url),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if k not in CLEAN_ENV},
            )
        server = Server(f"http://127.0.0.1:{port}", database_url, process, log)
        started.append(server)
        _wait_healthy(server)
        return server

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
