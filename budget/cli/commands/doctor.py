"""``budget doctor``: is this installation healthy? One table, and an exit code."""

from __future__ import annotations

from typing import Any

from budget.cli import render as r
from budget.cli.database import doctor_report
from budget.cli.root import app as root
from budget.cli.runtime import EXIT_MISMATCH, EXIT_SERVER, Cli, command

CHECKS: list[r.Column] = [
    ("check", lambda c: c["name"]),
    ("status", lambda c: c["status"].upper()),
    ("finding", lambda c: c["summary"]),
]
SOURCES: list[r.Column] = [
    ("source", lambda s: s["name"]),
    ("health", lambda s: s["health"] if s["active"] else "inactive"),
    ("last status", lambda s: s["last_status"] or "never ran"),
    ("last run", lambda s: r.when(s["last_run_at"])),
    ("last success", lambda s: r.when(s["last_success_at"])),
    ("error", lambda s: s["last_error"]),
]
EXTRAS: list[r.Column] = [
    ("package", lambda p: p["name"]),
    ("version", lambda p: p["version"] or "not installed"),
]


@command(root, "doctor", reads=True)
def doctor(cli: Cli) -> None:
    """Check the installation: database (URL masked), schema revision (pending
    migrations?), installed extras, API keys, price-source health and the
    database's clock skew. With --url, the server's own report (admin key).

    Exit code 0 when nothing failed (warnings allowed), 1 when a check failed,
    4 when the database does not answer.
    Example: budget doctor
    """
    if cli.remote:
        report = cli.client.doctor()
    else:
        report = doctor_report(cli.options.database_url, must_exist=cli.reads)
    cli.emit(report, lambda rep: _render(cli, rep))
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    if failed:
        names = ", ".join(c["name"] for c in failed)
        code = EXIT_SERVER if failed[0]["name"] == "database" else EXIT_MISMATCH
        raise cli.fail(f"doctor found problems: {names}", code, "Doctor found problems")


def _render(cli: Cli, report: dict[str, Any]) -> None:
    by_name = {c["name"]: c for c in report["checks"]}
    where = f" (the server at {cli.client.target})" if cli.remote else ""
    cli.say(f"budget {report['version']}{where}, checked {r.when(report['checked_at'])}")
    cli.print(r.table(report["checks"], CHECKS))
    extras = by_name.get("extras", {}).get("details", {}).get("packages", {})
    if extras:
        rows = [{"name": name, "version": version} for name, version in extras.items()]
        cli.print(r.table(rows, EXTRAS, title="extras"))
    sources = by_name.get("price_sources", {}).get("details", {}).get("sources", [])
    if sources:
        cli.print(r.table(sources, SOURCES, title="price sources"))
    cli.say(f"overall: {report['status']}")
