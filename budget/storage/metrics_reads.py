"""The reads behind ``/metrics``: small aggregate queries over rollups, the
webhook queue, the outbox and the price sources, each bounded by an index.

Nothing here reads the ledger: usage totals come from the day rows of the
``model`` rollup cube, whose count grows with days x models, not with records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from budget.storage import tables as t
from budget.storage.denial_counts import DenialCount, read_denial_counts
from budget.storage.price_history import source_states
from budget.storage.sql import from_db_time
from budget.storage.tables_events import events, webhook_deliveries, webhooks
from budget.storage.tables_insight import usage_rollups

if TYPE_CHECKING:
    from budget.storage.unit import Unit

R = usage_rollups.c
E = events.c
D = webhook_deliveries.c
H = webhooks.c
#: Delivery statuses (as ``budget.webhooks.deliveries`` writes them).
PENDING, DEAD = "pending", "dead"
#: The rollup counters summed for a metric, in the order of :class:`ModelTotals`.
_COUNTERS = (
    "records",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
)


@dataclass(frozen=True)
class ModelTotals:
    """All-time usage of one provider and model: priced or not, recorded usage
    or corrections of it (void / adjust)."""

    provider: str
    model: str
    priced: bool
    correction: bool
    records: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_nanos: int


@dataclass(frozen=True)
class WebhookQueue:
    """One webhook's deliveries waiting for an attempt, and the dead ones."""

    webhook_id: str
    active: bool
    pending: int
    dead: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True)
class OutboxState:
    """How far the outbox's consumers are behind its writers."""

    last_sequence: int
    unsequenced: int
    #: Events not fanned out yet to every active webhook, unsequenced ones included.
    behind: int
    #: When the oldest of those was written (None: nothing is behind).
    oldest_behind_at: datetime | None


class Metrics:
    """The reads of a ``/metrics`` snapshot (see the module docstring)."""

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    def usage_by_model(self) -> list[ModelTotals]:
        """All-time totals per provider and model, from the day rows of the ``model`` cube."""
        sums = [func.coalesce(func.sum(R[name]), 0) for name in _COUNTERS]
        query = (
            select(R.provider, R.model, R.priced, R.correction, *sums)
            .where(R.cube == "model", R.span_hours == 24)
            .group_by(R.provider, R.model, R.priced, R.correction)
            .order_by(R.provider, R.model, R.priced, R.correction)
        )
        return [
            ModelTotals(r[0], r[1], bool(r[2]), bool(r[3]), *(int(x) for x in r[4:]))
            for r in self.tx.execute(query)
        ]

    def webhook_queues(self) -> list[WebhookQueue]:
        """Every webhook with its pending and dead deliveries (delivered ones are not counted)."""
        counted = self.tx.execute(
            select(D.webhook_id, D.status, func.count(), func.min(D.created_at))
            .where(D.status.in_((PENDING, DEAD)))
            .group_by(D.webhook_id, D.status)
        ).all()
        by_hook: dict[str, dict[str, tuple[int, datetime | None]]] = {}
        for webhook_id, status, n, oldest in counted:
            by_hook.setdefault(webhook_id, {})[status] = (int(n), _aware(oldest))
        out = []
        for hook in self.tx.execute(select(H.id, H.active).order_by(H.id)):
            found = by_hook.get(hook.id, {})
            pending, oldest = found.get(PENDING, (0, None))
            out.append(
                WebhookQueue(hook.id, bool(hook.active), pending, found.get(DEAD, (0,))[0], oldest)
            )
        return out

    def outbox_state(self) -> OutboxState:
        """The last sequence given, the unsequenced events (PostgreSQL numbers
        committed events a moment later) and the events the fan-out has not reached."""
        top = int(self.tx.execute(select(func.coalesce(func.max(E.seq), 0))).scalar_one())
        unsequenced, first_unsequenced = self.tx.execute(
            select(func.count(), func.min(E.created_at)).where(E.seq.is_(None))
        ).one()
        lowest = self.tx.execute(select(func.min(H.cursor)).where(H.active.is_(True))).scalar()
        behind, oldest = int(unsequenced), _aware(first_unsequenced)
        if lowest is not None and lowest < top:
            behind += top - int(lowest)
            first = self.tx.execute(
                select(E.created_at).where(E.seq > lowest).order_by(E.seq).limit(1)
            ).scalar()
            first = _aware(first)
            if first is not None and (oldest is None or first < oldest):
                oldest = first
        return OutboxState(top, int(unsequenced), behind, oldest)

    def budget_names(self) -> dict[str, str]:
        """Live budgets: id -> name."""
        query = select(t.budgets.c.id, t.budgets.c.name).where(t.budgets.c.deleted_at.is_(None))
        return {row.id: row.name for row in self.tx.execute(query)}

    def denial_counts(self) -> list[DenialCount]:
        """Every policy's denial counter, by limit kind."""
        return read_denial_counts(self.tx)

    def active_price_sources(
        self,
    ) -> list[tuple[str, str | None, datetime | None, datetime | None]]:
        """(name, last status, last run, last success) of every active price source."""
        return [
            (row.name, row.last_status, row.last_run_at, row.last_success_at)
            for row in source_states(self.tx).values()
            if row.active
        ]


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate of a datetime column, as an aware UTC datetime on both backends."""
    return from_db_time(value)
