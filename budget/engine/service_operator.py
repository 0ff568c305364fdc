"""OperatorOperations: ``doctor``, the ledger export and ``prune``, mixed into
BudgetService (methods call :mod:`budget.engine.doctor`,
:mod:`budget.engine.export` and :mod:`budget.engine.retention`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from budget.domain.models import UsageRecord
from budget.engine import doctor, export, retention
from budget.engine.context import EngineContext


class OperatorOperations:
    """What an operator runs: a health report, a full export, a prune."""

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

    def prune(
        self,
        older_than: str | timedelta,
        *,
        ledger: bool = False,
        dry_run: bool = False,
    ) -> retention.PruneReport:
        """Delete delivered events, finished webhook deliveries and closed
        allocations older than ``older_than`` (``90d``, ``12h``, ``2w``) and,
        with ``ledger``, usage records too (never inside a live window; the
        rollups stay, so reports keep their totals). ``dry_run``: count only."""
        return retention.prune(self._ctx, older_than, ledger=ledger, dry_run=dry_run)
