"""Request and response models of the operator's bulk operations: prune, acknowledge many."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from budget.api.schemas import Bool, Id, Strict, Text
from budget.api.schemas_declared import declared
from budget.api.times import Instant
from budget.domain.enums import AlertKind

Retention = Annotated[
    str,
    StringConstraints(min_length=2, max_length=20),
    Field(description="How old a row must be to go: whole hours, days or weeks (12h, 90d, 2w)."),
]


class PruneIn(Strict):
    older_than: Retention
    #: Also prune usage records (never inside a live window; the rollups stay).
    ledger: Bool = False
    #: Count what would go, delete nothing.
    dry_run: Bool = False


class PruneOut(BaseModel):
    """Rows deleted per table (a dry run: rows that would be)."""

    dry_run: bool
    ledger: bool
    older_than_seconds: int
    cut: datetime
    ledger_cut: datetime | None
    counts: dict[str, int]
    total: int

    @classmethod
    def of(cls, report) -> PruneOut:
        return cls.model_validate(report.to_dict())


class AcknowledgeManyIn(Strict):
    """Which open alerts to acknowledge: ids and/or filters (an alert must pass
    all given), or ``all`` for every open alert."""

    by: Text
    alert_ids: Annotated[list[Id], Field(max_length=1000)] | None = None
    all: Bool = False
    kind: AlertKind | None = None
    budget_id: declared("budget_id", min_length=0) | None = None
    before: Instant | None = None


class AcknowledgedOut(BaseModel):
    acknowledged: int
