"""EventOperations: events, subscribers and webhooks, mixed into BudgetService.

Every change the engine makes that others may care about is stored as an
event in the outbox, in the change's own transaction (docs/events.md). From
there it reaches in-process subscribers (:meth:`subscribe`), the SSE stream
of the REST service, and webhooks, which the dispatcher delivers in the
background (:meth:`start_event_delivery`, or ``budget.open(..., deliver_events=True)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from budget.domain import validation as v
from budget.engine.listing import Listing
from budget.engine.runtime import Runtime
from budget.events.bus import Subscription, check_types
from budget.events.outbox import assign_sequence, last_sequence, read_events
from budget.events.types import EVENT_TYPES, Event
from budget.webhooks import webhook_changes as changes
from budget.webhooks import webhooks as hooks
from budget.webhooks.dispatcher import Dispatcher


class EventOperations:
    """Hear about spend without polling."""

    _ctx: Runtime

    # --- in-process subscribers -------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[Event], None],
        *,
        types: Iterable[str] | None = None,
        budget_id: str | None = None,
    ) -> Subscription:
        """Call ``callback(event)`` after each commit of this process that emits
        an event of ``types`` (None: any) concerning ``budget_id`` (None: any).

        Callbacks run on a background thread, in commit order; a slow one
        never slows the caller. ``subscription.cancel()`` stops it.
        """
        return self._ctx.bus.subscribe(callback, types, budget_id)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription (the same as ``subscription.cancel()``)."""
        subscription.cancel()

    def flush_subscribers(self, timeout: float = 5.0) -> bool:
        """Wait until subscribers were handed every event committed so far."""
        return self._ctx.bus.flush(timeout)

    # --- the outbox ---------------------------------------------------------------

    @staticmethod
    def event_types() -> dict[str, str]:
        """Every event type, with what it reports."""
        return dict(EVENT_TYPES)

    def list_events(
        self,
        *,
        after: int = 0,
        types: Iterable[str] | None = None,
        budget_id: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Events after sequence number ``after``, oldest first (max ``limit``),
        filtered by type and by the budget they concern. Pass the last
        ``sequence`` seen as ``after`` to read on without loss or repeats."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise v.ValidationError("after", after, "must be a sequence number (0 or more)")
        limit, _ = v.page(limit, 0)
        wanted = check_types(types)
        self._sequence()
        with self._ctx.db.read() as conn:
            return read_events(conn, after=after, types=wanted, budget_id=budget_id, limit=limit)

    def last_event_sequence(self) -> int:
        """The sequence number of the newest event (0 if none yet)."""
        self._sequence()
        with self._ctx.db.read() as conn:
            return last_sequence(conn)

    def _sequence(self) -> None:
        if not self._ctx.db.is_sqlite:
            self._ctx.db.run_write(assign_sequence)

    # --- webhooks -------------------------------------------------------------------

    def create_webhook(
        self,
        url: str,
        *,
        events: Iterable[str] | None = None,
        budget_id: str | None = None,
        description: str | None = None,
        kind: str = "generic",
    ) -> tuple[hooks.Webhook, str]:
        """Register a webhook for ``events`` (None: every type; a ``slack`` one:
        the alert types), optionally only for one budget. ``kind``: ``generic``
        (the event as JSON) or ``slack`` (a Slack incoming-webhook URL, sent a
        readable message). Returns it and its signing secret, shown only this once."""
        return hooks.create_webhook(
            self._ctx, url, events=events, budget_id=budget_id, description=description, kind=kind
        )

    def update_webhook(self, webhook_id: str, **fields) -> hooks.Webhook:
        """Change ``url``, ``events`` (None or []: every type), ``budget_id``
        (None: every budget), ``description`` or ``kind``; the others stay."""
        return changes.update_webhook(self._ctx, webhook_id, **fields)

    def rotate_webhook_secret(
        self, webhook_id: str, *, overlap_seconds: int | None = None
    ) -> tuple[hooks.Webhook, str]:
        """A new signing secret (returned, shown only this once); the old one also
        signs deliveries for ``overlap_seconds`` (default: ``webhook_secret_overlap_seconds``)."""
        return changes.rotate_secret(self._ctx, webhook_id, overlap_seconds=overlap_seconds)

    def list_webhooks(self) -> list[hooks.Webhook]:
        return hooks.list_webhooks(self._ctx)

    def get_webhook(self, webhook_id: str) -> hooks.Webhook:
        """One webhook (never its secret)."""
        return hooks.get_webhook(self._ctx, webhook_id)

    def set_webhook_active(self, webhook_id: str, active: bool) -> hooks.Webhook:
        """Pause (False) or resume (True) a webhook. Paused, it is sent nothing;
        resumed, it gets the events of its filters from where it stopped, in order."""
        return hooks.set_active(self._ctx, webhook_id, active)

    def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook and its delivery records."""
        hooks.delete_webhook(self._ctx, webhook_id)

    def list_webhook_deliveries(
        self, webhook_id: str, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[hooks.Delivery]:
        """A webhook's deliveries, newest first: pending (with the next attempt),
        delivered, or dead (after ``webhook_max_attempts`` failures)."""
        items, total = hooks.list_deliveries(
            self._ctx, webhook_id, status=status, limit=limit, offset=offset
        )
        return Listing(items, total)

    def replay_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        delivery_id: int | None = None,
        status: str | None = None,
        since_sequence: int | None = None,
    ) -> int:
        """Queue deliveries again (default: the dead ones); returns how many."""
        return hooks.replay(
            self._ctx,
            webhook_id,
            delivery_id=delivery_id,
            status=status,
            since_sequence=since_sequence,
        )

    # --- the dispatcher -------------------------------------------------------------

    def start_event_delivery(self) -> Dispatcher:
        """Start (once) the background thread that delivers webhooks."""
        return self._ctx.start_delivery()

    def stop_event_delivery(self) -> None:
        """Stop the webhook thread, if it runs (in-flight sends finish first)."""
        self._ctx.stop_delivery()

    def deliver_events_now(self) -> int:
        """One delivery pass in the calling thread (fan out, claim, send, record);
        returns how many deliveries were tried. For tests and cron jobs."""
        return self._ctx.deliver_once()

    def close_events(self) -> None:
        """Stop the dispatcher and the subscribers' thread (``close()`` does too)."""
        self.stop_event_delivery()
        self._ctx.bus.close()
