"""Every ``budget`` command is documented: in docs/cli.md and in the README's CLI section."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from budget.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def command_paths() -> list[str]:
    """``budget budgets create`` … for every command registered on the Typer app."""
    paths: list[str] = []

    def walk(cmd, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            paths.append(" ".join(["budget", *path]))

    walk(typer.main.get_command(app), [])
    return paths


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same level."""
    level = heading.split(" ")[0]
    match = re.search(rf"^{re.escape(heading)}\s*$(.*?)(?=^{level} |\Z)", text, re.M | re.S)
    assert match, f"no {heading!r} section"
    return match.group(1)


def missing(text: str) -> list[str]:
    return [p for p in command_paths() if not re.search(re.escape(p) + r"(?![\w-])", text)]


def test_the_app_has_every_command_of_the_issue():
    paths = set(command_paths())
    for group, subs in {
        "budgets": "create list show update delete summary",
        "policies": "add list show update disable enable delete",
        "allocations": "list show release sweep",
        "usage": "record list show totals import",
        "alerts": "list ack",
        "keys": "create list revoke",
        "prices": "list show history conflicts sources update override clear-override",
        "webhooks": "add list show update pause resume rotate-secret remove deliveries replay",
        "rollups": "rebuild",
    }.items():
        for sub in subs.split():
            assert f"budget {group} {sub}" in paths
    for name in ("init", "serve", "status", "allocate", "check", "cost", "mcp"):
        assert f"budget {name}" in paths
    for name in ("report", "analyze", "forecast", "recommend", "route"):
        assert f"budget {name}" in paths


def test_every_command_is_in_docs_cli_md():
    assert missing((ROOT / "docs" / "cli.md").read_text()) == []


def test_every_command_is_in_the_readmes_cli_section():
    assert missing(section((ROOT / "README.md").read_text(), "## CLI")) == []
