"""Periodic work a running service does on its own: return expired
reservations, raise forecast alerts and, with ``retention_days`` set, prune
what is older than that (docs/retention.md), without waiting for a caller.

Every opened service has one (``service.runtime.housekeeper``), built by
``budget.bootstrap`` and stopped by ``service.close()``; ``budget serve``
starts it. A library user can call ``sweep_expired()`` and ``forecast()``
from a scheduler of their own, or start it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

log = logging.getLogger("budget.housekeeping")


class Housekeeper:
    """A daemon thread that sweeps expired allocations, checks forecasts and
    (with ``retention_days``) prunes every ``interval`` seconds; one failing
    round is logged, not fatal."""

    def __init__(self, service, interval: float) -> None:
        self._service = service
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        if self._thread is None and self._interval > 0:
            self._thread = threading.Thread(
                target=self._run, name="budget-housekeeping", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run_once(self) -> dict[str, int]:
        """One round: how many allocations expired, how many forecast alerts
        rose and (with retention on) how many rows were pruned."""
        expired = self._service.sweep_expired()
        raised = sum(1 for f in self._service.forecast() if f.alert_raised)
        done = {"expired": expired, "forecast_alerts": raised}
        settings = self._service.settings
        if settings.retention_days:
            report = self._service.prune(
                timedelta(days=settings.retention_days), ledger=settings.retention_ledger
            )
            done["pruned"] = report.total
            if report.total:
                log.info(
                    "pruned rows older than %s days: %s", settings.retention_days, report.counts
                )
        self.rounds += 1
        return done

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except Exception:
                log.exception("housekeeping round failed; trying again in %ss", self._interval)
