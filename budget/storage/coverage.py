"""Which ledger rows a policy covers, as SQL: its scope filters, tags included,
as the policy matches requests (its dates aside)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_

from budget.domain.models import Policy
from budget.storage import tables as t
from budget.storage.sql import json_list_contains

U = t.usage_records.c
_FILTERS = {
    "component": U.component,
    "project": U.project,
    "user": U.user_id,
    "api_key": U.api_key,
    "provider": U.provider,
    "model": U.model,
    "task_type": U.task_type,
}


def covered_by(policies: list[Policy], is_sqlite: bool) -> Any:
    """A WHERE clause true for the ledger rows any of ``policies`` covers."""
    clauses = []
    for policy in policies:
        scope = policy.scope
        conds = [
            column == getattr(scope, name)
            for name, column in _FILTERS.items()
            if getattr(scope, name) is not None
        ]
        if scope.tier is not None:
            conds.append(U.tier == scope.tier.value)
        conds.extend(json_list_contains(U.tags, tag, is_sqlite) for tag in sorted(scope.tags))
        clauses.append(and_(*conds) if conds else U.id.is_not(None))
    return or_(*clauses) if clauses else false()
