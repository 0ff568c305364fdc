"""In-process subscribers: callbacks that hear this process's events after commit.

The engine hands each event to the bus once its transaction has committed
(never for a rolled-back or retried attempt). The bus calls subscribers on
one background thread, so a slow callback never slows ``allocate`` or
``record_usage``; a callback that raises is logged and the others still run.
Delivery is best effort (a full queue drops the oldest events, with a
warning): for guaranteed delivery use the outbox (SSE, webhooks,
``list_events``), which also sees other processes' events.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, event

from budget.errors import ValidationError
from budget.events.types import EVENT_TYPES, Event

log = logging.getLogger("budget.events")
Callback = Callable[[Event], None]
_STOP = object()
_IDS = itertools.count(1)


def check_types(types: Iterable[str] | None, field_name: str = "types") -> frozenset[str] | None:
    """A set of known event types, or None for any; unknown names are an error."""
    if types is None:
        return None
    if isinstance(types, str):
        types = [types]
    wanted = frozenset(types)
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise ValidationError(
            field_name, unknown[0], "not an event type; use one of " + ", ".join(EVENT_TYPES)
        )
    return wanted or None


@dataclass(eq=False)
class Subscription:
    """A callback with its filters; ``cancel()`` stops it."""

    callback: Callback
    types: frozenset[str] | None
    budget_id: str | None
    bus: EventBus = field(repr=False)
    subscription_id: int = field(default_factory=lambda: next(_IDS))

    def cancel(self) -> None:
        """Stop calling this subscriber."""
        self.bus.unsubscribe(self)


class EventBus:
    """The subscribers of one engine and the thread that calls them."""

    def __init__(self, max_queue: int = 10_000) -> None:
        self._subs: dict[int, Subscription] = {}
        self._queue: queue.Queue = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    @property
    def active(self) -> bool:
        """True while anyone subscribes."""
        return bool(self._subs)

    def subscribe(
        self, callback: Callback, types: Iterable[str] | None = None, budget_id: str | None = None
    ) -> Subscription:
        """Call ``callback(event)`` for each event that passes the filters."""
        if not callable(callback):
            raise ValidationError("callback", repr(callback), "must be callable")
        sub = Subscription(callback, check_types(types), budget_id, self)
        with self._lock:
            self._subs[sub.subscription_id] = sub
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="budget-event-subscribers", daemon=True
                )
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.pop(sub.subscription_id, None)

    def publish(self, event: Event) -> None:
        """Queue a committed event for the subscribers (never blocks, never raises)."""
        if not self._subs:
            return
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._queue.task_done()
                except queue.Empty:
                    pass
                self.dropped += 1
                if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                    log.warning("event subscribers are behind: %d events dropped", self.dropped)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was handed to the subscribers."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def attach(self, engine: Engine) -> None:
        """Make this the bus of ``engine``: every connection it hands out carries
        it, so an event emitted in a transaction finds its subscribers."""

        def carry(_dbapi_conn, record, _proxy) -> None:
            record.info[_BUS_KEY] = self

        event.listen(engine, "checkout", carry)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the subscriber thread (queued events are still delivered first)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._subs.clear()
        if thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                log.warning("event subscriber thread did not drain its queue; left running")
                return
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._deliver(item)
            finally:
                self._queue.task_done()

    def _deliver(self, event: Event) -> None:
        for sub in list(self._subs.values()):
            if not event.matches(sub.types, sub.budget_id):
                continue
            try:
                sub.callback(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", sub.callback, event.event_id)


#: Where a connection carries the bus of its engine (see :meth:`EventBus.attach`).
_BUS_KEY = "budget.event_bus"


def bus_of(conn: Connection) -> EventBus | None:
    """The bus of the engine ``conn`` belongs to (None: no runtime attached one)."""
    return conn.info.get(_BUS_KEY)
