"""OperatorOperations: ``doctor`` and the ledger export, mixed into
BudgetService (methods call :mod:`budget.engine.doctor` and
:mod:`budget.engine.export`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from budget.domain.models import UsageRecord
from budget.engine import doctor, export
from budget.engine.context import EngineContext


class OperatorOperations:
    """What an operator runs: a health report and a full export."""

    _ctx: EngineContext

    def doctor(self) -> doctor.DoctorReport:
        """Database (URL masked), schema revision against head, installed extras,
        API keys, price-source health and clock skew; see docs/cli.md."""
        return doctor.run_doctor(self._ctx)

    def export_usage(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        budget_id: str | None = None,
        priced: bool | None = None,
        page_size: int = export.PAGE_SIZE,
        **filters: Any,
    ) -> Iterator[UsageRecord]:
        """Every ledger entry matching the filters of :meth:`list_usage`, oldest
        first, read ``page_size`` rows at a time (memory stays bounded). The
        filters are checked before the first row is read."""
        return export.iter_usage(
            self._ctx,
            since=since,
            until=until,
            budget_id=budget_id,
            priced=priced,
            page_size=page_size,
            **filters,
        )
