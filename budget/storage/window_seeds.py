"""Repository of what a new per-session or per-task window starts from: the
ledger rows of that session or task that its policy covers, summed.

(Calendar and total windows start from the rollups: :mod:`budget.engine.seed`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case, func, select

from budget.domain.models import Policy
from budget.storage import tables as t
from budget.storage.coverage import covered_by
from budget.storage.unit import Unit

U = t.usage_records.c
_SUBJECTS = {"session": U.session_id, "task": U.task_id}


class WindowSeeds:
    """Ledger sums for new windows, in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def ledger_usage(
        self,
        policy: Policy,
        subject: str,
        value: str,
        start: datetime,
        end: datetime,
        records_of_kind: Mapping[str, int],
    ) -> dict[str, int]:
        """The usage of one session or task (``subject``: ``session`` or ``task``)
        in ``[start, end)`` that ``policy`` covers: records (each row weighing
        what ``records_of_kind`` says of its kind), input and output tokens, cost,
        and the records and tokens that had no price."""
        kind = U.kind
        weight = case(
            *((kind == name, n) for name, n in records_of_kind.items() if name != "usage"),
            else_=records_of_kind["usage"],
        )
        unpriced = U.cost_nanos.is_(None)
        query = select(
            func.coalesce(func.sum(weight), 0),
            func.coalesce(func.sum(U.input_tokens), 0),
            func.coalesce(func.sum(U.output_tokens), 0),
            func.coalesce(func.sum(U.cost_nanos), 0),
            func.coalesce(func.sum(case((unpriced, weight), else_=0)), 0),
            func.coalesce(func.sum(case((unpriced, U.input_tokens + U.output_tokens), else_=0)), 0),
        ).where(
            _SUBJECTS[subject] == value,
            U.occurred_at >= start,
            U.occurred_at < end,
            covered_by([policy], self.tx.is_sqlite),
        )
        sums = self.tx.execute(query).one()
        names = (
            "records",
            "input_tokens",
            "output_tokens",
            "cost_nanos",
            "unpriced_records",
            "unpriced_tokens",
        )
        return {name: int(x) for name, x in zip(names, sums, strict=True)}
