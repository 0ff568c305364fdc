"""The webhook dispatcher: a background thread that delivers the outbox.

Each tick (``event_dispatch_interval_seconds``) it numbers new events
(PostgreSQL), fans them out into pending deliveries, claims the due ones and
hands each webhook's batch to a worker thread, which sends them in order and
stops at the first failure. A receiver that fails opens its circuit: it is
not tried again before its backoff elapses, so a dead or hanging receiver
costs one attempt per backoff period and holds one worker at most, never the
others, and never allocate or record (they only write the outbox).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from budget.clock import utcnow
from budget.events.outbox import assign_sequence
from budget.webhooks import deliveries as q
from budget.webhooks.backoff import backoff_seconds
from budget.webhooks.context import WebhookContext
from budget.webhooks.sender import Sender
from budget.webhooks.targets import TargetPolicy

log = logging.getLogger("budget.events")


class Dispatcher:
    """Delivers webhooks for one engine; ``start()`` / ``stop()``, or ``run_once()``."""

    def __init__(self, ctx: WebhookContext) -> None:
        s = ctx.settings
        self._ctx = ctx
        self.interval = s.event_dispatch_interval_seconds
        self.max_attempts = s.webhook_max_attempts
        self.batch = s.webhook_batch_size
        policy = TargetPolicy.of(s.webhook_allow_private, s.webhook_allowed_networks)
        self.sender = Sender(s.webhook_timeout_seconds, policy, s.public_url)
        self.lease = timedelta(seconds=s.webhook_timeout_seconds * self.batch * 2 + 30)
        self._pool = ThreadPoolExecutor(s.webhook_workers, thread_name_prefix="budget-webhook")
        self._busy: set[str] = set()
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failures."""
        s = self._ctx.settings
        return backoff_seconds(attempts, s.webhook_backoff_seconds, s.webhook_backoff_max_seconds)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the dispatcher thread (once)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="budget-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop ticking, let in-flight sends finish (unsent claims go back to
        the queue), and close connections."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self._pool.shutdown(wait=True)
        self.sender.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("webhook dispatcher tick failed; retrying next tick")
            self._stop.wait(self.interval)

    def run_once(self, wait: bool = False) -> int:
        """One tick: sequence, fan out, claim and send (``wait``: until sent).
        Returns how many deliveries were claimed."""
        db = self._ctx.db
        if not db.is_sqlite:
            db.run_write(assign_sequence)
        with db.read() as conn:
            behind = q.backlog(conn)
            due = behind or q.any_due(conn, utcnow())
        if behind:
            db.run_write(lambda conn: q.fan_out(conn, utcnow()))
        if not due:  # idle: no write transaction at all
            return 0
        claims = db.run_write(
            lambda conn: q.claim_due(conn, utcnow(), self.lease, self.batch, self._skipped())
        )
        futures = self._submit(claims)
        if wait:
            for future in futures:
                future.result()
        return len(claims)

    def _skipped(self) -> set[str]:
        now = time.monotonic()
        with self._lock:
            open_circuits = {w for w, (_, until) in self._failures.items() if until > now}
            return self._busy | open_circuits

    def _submit(self, claims: list[q.Claim]) -> list[Future]:
        groups: dict[str, list[q.Claim]] = {}
        for claim in claims:
            groups.setdefault(claim.webhook_id, []).append(claim)
        futures = []
        for webhook_id, group in groups.items():
            with self._lock:
                self._busy.add(webhook_id)
            try:
                futures.append(self._pool.submit(self._deliver, webhook_id, group))
            except RuntimeError:  # the pool is shutting down: put the claims back
                self._finish(webhook_id, [q.Outcome(c, False, attempted=False) for c in group])
        return futures

    def _deliver(self, webhook_id: str, group: list[q.Claim]) -> None:
        outcomes: list[q.Outcome] = []
        failed = False
        for claim in group:
            if failed or self._stop.is_set():
                outcomes.append(q.Outcome(claim, False, attempted=False))
                continue
            outcome = self.sender.send(claim)
            outcomes.append(outcome)
            failed = not outcome.ok
        self._finish(webhook_id, outcomes)

    def _finish(self, webhook_id: str, outcomes: list[q.Outcome]) -> None:
        try:
            self._ctx.db.run_write(
                lambda conn: q.record_outcomes(
                    conn, outcomes, utcnow(), self.max_attempts, self.delay
                )
            )
        except Exception:
            log.exception(
                "could not record deliveries of %s; they retry after the lease", webhook_id
            )
        tried = [o for o in outcomes if o.attempted]
        with self._lock:
            self._busy.discard(webhook_id)
            if tried and not tried[-1].ok:
                count = self._failures.get(webhook_id, (0, 0.0))[0] + 1
                self._failures[webhook_id] = (count, time.monotonic() + self.delay(count))
            elif tried:
                self._failures.pop(webhook_id, None)
