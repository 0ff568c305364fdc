"""The runtime: one process's engine context and the parts that run beside
the use cases, built once by :mod:`budget.bootstrap` and closed by the service.

It is the engine context every use case is handed (the database, the
settings, the caches), and it holds what used to be looked up by engine: the
price sources with their refresh scheduler, the event bus of in-process
subscribers, the webhook dispatcher while it runs, and the housekeeper.
:meth:`Runtime.close` stops them in the reverse order of their building and
then releases the database.
"""

from __future__ import annotations

import threading

from budget.engine.catalog_admin import PriceRuntime, stop_scheduler
from budget.engine.context import EngineContext
from budget.engine.housekeeping import Housekeeper
from budget.events.bus import EventBus
from budget.settings import Settings
from budget.storage.database import Database
from budget.webhooks.dispatcher import Dispatcher


class Runtime(EngineContext):
    """The engine context of a running process, with its background parts."""

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        #: The price sources' configuration, HTTP fetcher and refresh scheduler.
        self.prices = PriceRuntime(self)
        #: In-process subscribers; every connection of ``db`` carries it.
        self.bus = EventBus()
        self.bus.attach(db.engine)
        #: Delivers webhooks while it runs (None: stopped).
        self.dispatcher: Dispatcher | None = None
        #: Sweeps, forecasts and prunes on its own once started (the server does).
        self.housekeeper: Housekeeper | None = None
        self._delivery_lock = threading.Lock()

    # --- webhook delivery -----------------------------------------------------

    def start_delivery(self) -> Dispatcher:
        """Start (once) the background thread that delivers webhooks."""
        with self._delivery_lock:
            if self.dispatcher is None:
                self.dispatcher = Dispatcher(self)
            dispatcher = self.dispatcher
        dispatcher.start()
        return dispatcher

    def stop_delivery(self) -> None:
        """Stop the webhook thread, if it runs (in-flight sends finish first)."""
        with self._delivery_lock:
            dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is not None:
            dispatcher.stop()

    def deliver_once(self) -> int:
        """One delivery pass in the calling thread, by the running dispatcher
        or else by one made for this pass; returns how many were tried."""
        running = self.dispatcher
        if running is not None:
            return running.run_once(wait=True)
        once = Dispatcher(self)
        try:
            return once.run_once(wait=True)
        finally:
            once.stop()

    # --- closing ----------------------------------------------------------------

    def close(self) -> None:
        """Stop the housekeeper, webhook delivery, the price refresh and the
        subscribers' thread (the reverse of their building), then release the
        database connections. Closing twice is harmless."""
        if self.housekeeper is not None:
            self.housekeeper.stop()
        self.stop_delivery()
        stop_scheduler(self)
        self.bus.close()
        self.db.dispose()
