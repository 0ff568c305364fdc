"""The unit of work's repository names each lead to a repository class."""

from __future__ import annotations

import inspect
from importlib import import_module

import pytest

from budget.storage.unit import REPOSITORIES, Unit


@pytest.mark.parametrize("name", sorted(REPOSITORIES))
def test_each_repository_name_leads_to_a_class_taking_the_unit(name: str) -> None:
    module, _, attribute = REPOSITORIES[name].partition(":")
    cls = getattr(import_module(module), attribute)
    assert inspect.isclass(cls), f"{name}: {REPOSITORIES[name]} is not a class"
    assert list(inspect.signature(cls).parameters) == ["tx"], f"{name}: takes ({cls.__init__})"


def test_a_repository_is_built_once_per_unit_and_other_names_are_the_connections() -> None:
    class Connection:
        dialect = type("Dialect", (), {"name": "sqlite"})()
        info: dict = {}

    tx = Unit(Connection())
    assert tx.budgets is tx.budgets
    assert tx.budgets.tx is tx
    assert tx.info is Connection.info
    assert tx.is_sqlite
