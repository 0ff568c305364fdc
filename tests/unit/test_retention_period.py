"""The retention period ``budget prune --older-than`` takes: whole hours, days or weeks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from budget.engine.retention import parse_retention
from budget.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), (" 2W ", timedelta(weeks=2))],
)
def test_retention_periods(text, expected):
    assert parse_retention(text) == expected


@pytest.mark.parametrize("text", ["", "90", "5y", "-1d", "0h", "1.5d", None, 90])
def test_bad_retention_periods_name_the_field(text):
    with pytest.raises(ValidationError) as bad:
        parse_retention(text)
    assert bad.value.field == "older_than"


def test_the_server_setting_comes_from_the_environment(monkeypatch):
    from pydantic import ValidationError as SettingsError

    from budget.settings import Settings

    assert Settings().retention_days is None and Settings().retention_ledger is False
    monkeypatch.setenv("BUDGET_RETENTION_DAYS", "90")
    monkeypatch.setenv("BUDGET_RETENTION_LEDGER", "true")
    assert (Settings().retention_days, Settings().retention_ledger) == (90, True)
    monkeypatch.setenv("BUDGET_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError):
        Settings()
