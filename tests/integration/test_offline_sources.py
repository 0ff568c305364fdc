"""The offline sources for real: genai-prices and LiteLLM's file inside the installed
litellm wheel, two independent lineages, verify the flagship models with no network."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import budget
from budget.engine.service import BudgetService
from budget.engine.service_prices import PriceOperations
from budget.ingest.sources.litellm import read_installed_file

pytest.importorskip("genai_prices", reason="the 'catalog' extra is not installed")

FLAGSHIPS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-5"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-5"),
]


class Service(BudgetService, PriceOperations):
    """BudgetService with the price operations mixed in."""


@pytest.fixture
def offline(sqlite_template: str, tmp_path: Path) -> Iterator[Service]:
    path = tmp_path / "budget.db"
    shutil.copyfile(sqlite_template, path)
    base = budget.open(f"sqlite:///{path}", price_network=False, pool_size=5)
    try:
        yield Service(base._ctx)
    finally:
        base.close()


def test_litellm_file_is_found_without_importing_litellm() -> None:
    # in a fresh interpreter: other tests of this run import litellm on purpose
    import subprocess
    import sys

    body, version = read_installed_file()
    assert version.startswith("litellm ") and body.startswith(b"{")
    script = (
        "import sys\n"
        "from budget.ingest.sources.litellm import read_installed_file\n"
        "body, version = read_installed_file()\n"
        "assert body.startswith(b'{')\n"
        "print('litellm' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "False"


def test_offline_sources_verify_the_flagship_models(offline: Service) -> None:
    report = offline.update_prices()
    assert [s.source for s in report.sources] == ["genai-prices", "litellm-offline"]
    assert all(s.status == "ok" and s.records > 500 for s in report.sources), report.errors
    assert report.verified > 100 and report.added > 0
    for provider, model in FLAGSHIPS:
        price = offline.get_price(provider, model)
        assert price.verification == "verified", f"{provider}/{model}: {price.verification}"
        assert price.model == model
    again = offline.update_prices()
    assert (again.added, again.changed) == (0, 0)
    assert again.conflicts == report.conflicts  # the same disagreements, alerted once
    alerts = offline.list_alerts(kind="price_conflict", limit=1000)
    assert len(alerts) == report.conflicts
