"""The declared text fields: every face takes its limits from them, and the
database can hold the longest value each one accepts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import String

from budget.api.schemas import ScopeFields
from budget.domain import scope
from budget.domain import validation as v
from budget.domain.models import SCOPE_FIELDS
from budget.errors import ValidationError
from budget.storage.schema import metadata

#: Where each declared field is stored ("table.column"); fields stored in a
#: JSON or unbounded text column (tags, a description) or never stored as
#: typed (a budget reference) have none.
STORED_IN = {
    "component": (
        "policies.component",
        "allocations.component",
        "usage_records.component",
        "usage_rollups.component",
        "api_keys.bound_component",
    ),
    "project": (
        "policies.project",
        "allocations.project",
        "usage_records.project",
        "usage_rollups.project",
        "api_keys.bound_project",
    ),
    "user": (
        "policies.user_id",
        "allocations.user_id",
        "usage_records.user_id",
        "usage_rollups.user_id",
        "api_keys.bound_user",
    ),
    "api_key": (
        "policies.api_key",
        "allocations.api_key",
        "usage_records.api_key",
        "usage_rollups.api_key",
    ),
    "provider": (
        "policies.provider",
        "allocations.provider",
        "usage_records.provider",
        "usage_rollups.provider",
        "prices.provider",
    ),
    "model": (
        "policies.model",
        "allocations.model",
        "usage_records.model",
        "usage_rollups.model",
        "prices.model",
        "allocations.recommended_model",
    ),
    "task_type": (
        "policies.task_type",
        "allocations.task_type",
        "usage_records.task_type",
        "usage_rollups.task_type",
    ),
    "tag": (),
    "context_id": ("allocations.context_id", "usage_records.context_id"),
    "session_id": ("allocations.session_id", "usage_records.session_id"),
    "task_id": ("allocations.task_id", "usage_records.task_id"),
    "request_id": ("usage_records.request_id",),
    "allocation_id": ("allocations.id", "usage_records.allocation_id"),
    "usage_id": ("usage_records.id", "usage_records.corrects_id"),
    "budget_id": ("budgets.id", "policies.budget_id", "alerts.budget_id", "webhooks.budget_id"),
    "budget": (),
    "name": ("budgets.name", "policies.name", "api_keys.name"),
    "owner": ("budgets.owner",),
    "description": ("budgets.description",),
    "timezone": ("policies.timezone",),
}


def column_length(where: str) -> int | None:
    table, column = where.split(".")
    kind = metadata.tables[table].columns[column].type
    assert isinstance(kind, String), f"{where} is not a text column"
    return kind.length


def test_every_declared_field_says_where_it_is_stored():
    assert set(STORED_IN) == set(scope.TEXT_FIELDS)


@pytest.mark.parametrize("name", sorted(scope.TEXT_FIELDS))
def test_no_declared_limit_exceeds_its_columns(name):
    declared = scope.text_field(name)
    for where in STORED_IN[name]:
        length = column_length(where)
        assert length is None or declared.max_length <= length, (
            f"{name} accepts {declared.max_length} characters; {where} holds {length}"
        )


def test_the_scope_text_fields_are_the_scope_fields_but_tier():
    assert tuple(n for n in SCOPE_FIELDS if n != "tier") == scope.SCOPE_TEXT


@pytest.mark.parametrize("name", scope.SCOPE_TEXT)
def test_the_domain_and_rest_take_the_declared_length(name):
    longest = scope.max_length(name)
    assert v.text(name, "x" * longest)
    with pytest.raises(ValidationError, match=f"longer than {longest}"):
        v.text(name, "x" * (longest + 1))
    rest = ScopeFields.model_json_schema()["properties"][name]
    assert {"type": "string", "maxLength": longest}.items() <= rest["anyOf"][0].items()


def test_mcp_tool_arguments_take_the_declared_lengths():
    from budget.mcp import arguments

    for alias, name in (("Component", "component"), ("TaskType", "task_type")):
        (field,) = getattr(arguments, alias).__metadata__
        assert any(getattr(m, "max_length", None) == scope.max_length(name) for m in field.metadata)


def test_the_mcp_tool_modules_import_shared_helpers_not_each_other():
    folder = Path(__file__).parents[2] / "budget" / "mcp"
    for module in ("tools_insight", "tools_ledger", "calling", "arguments"):
        tree = ast.parse((folder / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "budget.mcp.tools" not in imported, module
