"""The package root and the command line load what is used, when it is used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    return set(json.loads(out.stdout.decode().splitlines()[-1]))


def test_import_budget_loads_no_engine_server_or_client():
    loaded = loaded_after("import budget")
    heavy = {"budget.engine.service", "budget.remote.client", "budget.aio", "sqlalchemy", "httpx"}
    assert not heavy & loaded


@pytest.mark.parametrize(
    "name", ["open", "connect", "connect_async", "open_async", "wrap", "BudgetService"]
)
def test_the_public_names_resolve_on_first_use(name):
    import budget

    assert callable(getattr(budget, name))
    assert name in budget.__all__ and name in dir(budget)


def test_an_unknown_name_is_an_attribute_error():
    import budget

    with pytest.raises(AttributeError, match="no_such_name"):
        budget.no_such_name  # noqa: B018


def test_the_command_line_loads_neither_engine_nor_app_until_a_command_needs_them():
    loaded = loaded_after("import budget.cli.app")
    assert not {"budget.engine.service", "budget.api.app", "sqlalchemy", "fastapi"} & loaded


def test_nothing_below_the_package_root_imports_it():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("budget", cache_dir=None)
    assert graph.find_modules_that_directly_import("budget") == set()
