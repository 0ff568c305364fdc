"""A daemon thread that runs the price sources that are due, again and again.

The thread only calls ``tick`` (which runs what is due and says how long to
wait before the next look) and sleeps; it stops when asked, and an exception
in a tick is logged and retried later, never fatal. Being a daemon thread, it
never keeps a process alive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("budget.prices")


class RefreshScheduler:
    """Calls ``tick()`` every ``interval`` seconds (or sooner, if a tick asks)."""

    def __init__(
        self,
        tick: Callable[[], float | None],
        *,
        interval: float,
        first_delay: float = 1.0,
        name: str = "budget-price-refresh",
    ) -> None:
        self._tick = tick
        self.interval = max(interval, 0.01)
        self.first_delay = max(first_delay, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.ticks = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (once)."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it (a tick in progress finishes)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        wait = self.first_delay
        while not self._stop.wait(wait):
            try:
                asked = self._tick()
            except Exception:
                self.failures += 1
                log.exception("price refresh tick failed; retrying in %ss", self.interval)
                asked = None
            self.ticks += 1
            wait = self.interval if asked is None else min(max(asked, 0.01), self.interval)
