"""Repository of the price refresh's records: runs and their changes, override
records, and the run state of each price source (the statements are in
:mod:`budget.storage.price_history`)."""

from __future__ import annotations

from datetime import datetime

from budget.domain.prices import Price
from budget.pricing.refresh import Fetched, SourceSpec
from budget.pricing.refresh_report import PriceChange, PriceSourceStatus, UpdateReport
from budget.storage import price_history as history
from budget.storage.unit import Unit


class PriceRuns:
    """Refresh runs and source states in one transaction."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def new_update_id(self) -> str:
        """A fresh id for a run record."""
        return history.new_update_id()

    def record(self, report: UpdateReport) -> None:
        """Store a run record and its change records."""
        history.record_update(self.tx.conn, report)

    def record_override(
        self, price: Price, action: str, old_id: int | None, new_id: int | None, now: datetime
    ) -> None:
        """An update record (trigger ``override``) for setting or clearing an override."""
        history.record_override(self.tx.conn, price, action, old_id, new_id, now)

    def page(self, *, limit: int, offset: int) -> list[UpdateReport]:
        """Run records, newest first, without their changes."""
        return history.list_updates(self.tx.conn, limit=limit, offset=offset)

    def get(self, update_id: str) -> UpdateReport | None:
        """One run record with its changes."""
        return history.get_update(self.tx.conn, update_id)

    def latest_conflicts(self) -> list[tuple[datetime, str, PriceChange]]:
        """The newest conflict record of each model: (when its run started, the
        run's id, the change)."""
        found = history.latest_conflicts(self.tx.conn)
        return [(row.started_at, row.update_id, change) for row, change in found]

    def statuses(self, specs: list[SourceSpec]) -> list[PriceSourceStatus]:
        """Each configured source with its stored run state (if it ever ran)."""
        states = history.source_states(self.tx.conn)
        return [history.source_status(spec, states.get(spec.name)) for spec in specs]

    def save_source(self, spec: SourceSpec, now: datetime) -> None:
        """Write a source's configuration as now configured."""
        history.save_source(self.tx.conn, spec, now)

    def claim_due(self, spec: SourceSpec, now: datetime, next_run: datetime) -> bool:
        """Move a due source's next run to ``next_run``; True if this caller moved it."""
        return history.claim_due(self.tx.conn, spec, now, next_run)

    def save_run_state(self, item: Fetched, now: datetime) -> None:
        """Record how a source did in a run; its next run is one interval on."""
        history.save_run_state(self.tx.conn, item, now)
