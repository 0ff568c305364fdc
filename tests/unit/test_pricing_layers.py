"""The pricing core and storage stand without the price refresh: neither imports
``budget.ingest`` (the refresh imports them, and the engine wires the two)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BUDGET = Path(__file__).resolve().parents[2] / "budget"


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", ["pricing", "storage", "domain"])
def test_layer_does_not_import_the_refresh(layer: str) -> None:
    offenders = {
        str(path.relative_to(BUDGET)): sorted(m for m in _imported(path) if "budget.ingest" in m)
        for path in (BUDGET / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
