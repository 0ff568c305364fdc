"""RetentionOperations: what an operator does in bulk, mixed into BudgetService.

Prune what Budget no longer needs (docs/retention.md) and acknowledge many
alerts at once (docs/cli.md, ``budget alerts ack``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from budget.engine import alerts_bulk, retention
from budget.engine.context import EngineContext


class RetentionOperations:
    """Housekeeping an operator asks for."""

    _ctx: EngineContext

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

    def acknowledge_alerts(
        self,
        by: str,
        *,
        alert_ids: Sequence[str] | None = None,
        all: bool = False,
        kind: str | None = None,
        budget_id: str | None = None,
        before: datetime | str | None = None,
    ) -> int:
        """Acknowledge open alerts by ids and/or filters (``kind``, ``budget_id``,
        created ``before``), or every open one with ``all=True``; returns how many."""
        return alerts_bulk.acknowledge_alerts(
            self._ctx,
            by,
            alert_ids=list(alert_ids) if alert_ids is not None else None,
            all=all,
            kind=kind,
            budget_id=budget_id,
            before=before,
        )
