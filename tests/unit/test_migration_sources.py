"""Migrations are frozen as of their revision: they carry their own SQL and
import only SQLAlchemy, Alembic and the standard library, never the
application (whose code moves on while a migration must not)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import budget

VERSIONS = Path(budget.__file__).parent / "storage" / "migrations" / "versions"
ALLOWED = {"sqlalchemy", "alembic", "__future__"}


def _imported_modules(path: Path) -> list[str]:
    """Every module a migration imports, at any depth (functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


MIGRATIONS = sorted(VERSIONS.glob("*.py"))


def test_the_migrations_are_found():
    assert len(MIGRATIONS) >= 13


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: p.name)
def test_a_migration_imports_nothing_of_the_application(path: Path):
    for module in _imported_modules(path):
        top = module.split(".")[0]
        assert not module.startswith("."), f"{path.name} imports {module!r} relatively"
        assert top != "budget", f"{path.name} imports {module!r}: copy what it needs instead"
        assert top in ALLOWED or top in sys.stdlib_module_names, (
            f"{path.name} imports {module!r}: only sqlalchemy, alembic and the standard library"
        )


def test_the_declared_head_is_alembics_head():
    """A new migration moves ``SCHEMA_HEAD`` with it: every process checks the
    database against that constant before it would load Alembic."""
    from budget.storage.migrate import SCHEMA_HEAD, head_revision

    assert head_revision() == SCHEMA_HEAD, "set SCHEMA_HEAD in budget/storage/migrate.py"
